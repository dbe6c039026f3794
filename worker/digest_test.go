package worker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

func newYork(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A digest time is a wall-clock time in the practice's zone: the Monday
// 09:00 after clocks go forward (2026-03-08) or back (2026-11-01) is 09:00
// there, 167 or 169 hours after the one before.
func TestLastDigestTimeKeepsTheWallClockAcrossDST(t *testing.T) {
	ny := newYork(t)
	mon9 := config.DigestTime{Day: time.Monday, Hour: 9}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }
	for _, tc := range []struct {
		now, want time.Time
	}{
		{at(2026, 3, 9, 8, 59), at(2026, 3, 2, 9, 0)},  // a minute before: last week's
		{at(2026, 3, 9, 9, 0), at(2026, 3, 9, 9, 0)},   // at the time: this one
		{at(2026, 3, 12, 15, 0), at(2026, 3, 9, 9, 0)}, // later in the week
		{at(2026, 11, 2, 9, 30), at(2026, 11, 2, 9, 0)},
		{at(2026, 11, 2, 8, 30), at(2026, 10, 26, 9, 0)},
	} {
		got := lastDigestTime(mon9, tc.now, ny)
		if !got.Equal(tc.want) || got.In(ny).Hour() != 9 {
			t.Errorf("at %s: %s, want %s", tc.now, got.In(ny), tc.want)
		}
	}
	if d := at(2026, 3, 9, 9, 0).Sub(at(2026, 3, 2, 9, 0)); d != 167*time.Hour {
		t.Errorf("the week of the change is %s long, want 167h", d)
	}
}

// digestRig is a worker running its tasks on real Redis and sending to a
// real SMTP server, a leading scheduler, a clock that moves when told, a
// digest feed ("Mon 09:00", New York), and two subscribers of posts: one
// who chose each post, one the weekly digest.
type digestRig struct {
	w      *Worker
	db     *store.DB
	smtp   *mailtest.Server
	rdb    *redis.Client
	clock  *fakeClock
	feed   *store.Feed
	spec   store.FeedSpec
	logs   *logtest.Buffer
	rounds []*rounds
}

const (
	eachPerson   = "each@example.com"
	weeklyPerson = "weekly@example.com"
)

func newDigestRig(t *testing.T, db *store.DB, start time.Time) *digestRig {
	t.Helper()
	ctx := context.Background()
	clock := &fakeClock{now: start}
	db.Now = clock.Now
	srv := mailtest.NewServer(t)
	w := smtpWorker(t, db, srv.URL, 2, mail.Options{})
	w.Practice.TimeZone = start.Location()
	r := &digestRig{w: w, db: db, smtp: srv, clock: clock,
		rdb:  redistest.Client(t, redistest.Worker),
		spec: store.FeedSpec{Name: "blog", URL: "https://blog.example/feed", Every: time.Hour, HoldOver: 3, Digest: "Mon 09:00"}}
	w.Log, r.logs = logtest.Logger()
	w.Inspector = asynq.NewInspectorFromRedisClient(r.rdb)
	if err := db.SyncFeeds(ctx, []store.FeedSpec{r.spec}); err != nil {
		t.Fatal(err)
	}
	f, err := db.FeedByName(ctx, "blog")
	if err != nil {
		t.Fatal(err)
	}
	r.feed = f
	r.savePoll(t, store.PollOutcome{}) // polled: not due again while the test runs
	for _, email := range []string{eachPerson, weeklyPerson} {
		res, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: email, Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetDigestChoice(ctx, res.ID, email == weeklyPerson); err != nil {
			t.Fatal(err)
		}
	}
	asynqSrv, err := w.Start(r.rdb, ServerOptions{Concurrency: 4, QueuePoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(); asynqSrv.Shutdown() })
	return r
}

// runScheduler runs a scheduler of its own worker on the rig's database
// and Redis until the test ends. Schedulers with different lock keys all
// lead, as if the lock had failed.
func (r *digestRig) runScheduler(t *testing.T, lockKey string) {
	t.Helper()
	w := New(r.db, Options{})
	w.Queue, w.Inspector, w.Instance = r.w.Queue, r.w.Inspector, r.w.Instance
	w.Practice, w.Log = r.w.Practice, r.w.Log
	s := &Scheduler{W: w, Redis: r.rdb, Feeds: []store.FeedSpec{r.spec}, Tick: 20 * time.Millisecond, Reconcile: time.Hour, LockKey: lockKey}
	r.rounds = append(r.rounds, watchRounds(s))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// at moves the clock to at and waits until every scheduler has finished
// three rounds since: each has seen the time. It first waits until every
// send under way is recorded: leases are dated by this clock, and a lease
// that the clock jumped days past would let a second sender take a batch
// from under a live one, which real time never does to a sender renewing
// its lease.
func (r *digestRig) at(t *testing.T, at time.Time) {
	t.Helper()
	waitUntil(t, "every delivery recorded", func() bool {
		c, err := r.db.Counts(context.Background())
		return err == nil && c.Deliveries[store.DeliveryQueued] == 0
	})
	r.clock.mu.Lock()
	r.clock.now = at
	r.clock.mu.Unlock()
	for _, rs := range r.rounds {
		rs.wait(t, rs.finished()+3)
	}
}

func (r *digestRig) savePoll(t *testing.T, o store.PollOutcome) []int64 {
	t.Helper()
	o.Next = r.clock.Now().AddDate(1, 0, 0)
	ids, err := r.db.SavePoll(context.Background(), r.feed.ID, o)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// publish stores a new post and enqueues its fan-out, as a poll does.
func (r *digestRig) publish(t *testing.T, key, title string) {
	t.Helper()
	ids := r.savePoll(t, store.PollOutcome{New: []store.Post{{Key: key, GUID: key, Title: title,
		URL: "https://blog.example/" + key, Summary: "Summary of post " + key, Hash: title}}})
	if err := r.w.enqueue(context.Background(), NewPostFanoutTask(r.w.Instance, ids[0])); err != nil {
		t.Fatal(err)
	}
}

// edit changes a post's title, as a poll finding it changed does.
func (r *digestRig) edit(t *testing.T, key, title string) {
	t.Helper()
	r.savePoll(t, store.PollOutcome{Updated: []store.Post{{Key: key, GUID: key, Title: title,
		URL: "https://blog.example/" + key, Summary: "Summary of post " + key, Hash: title + " edited"}}})
}

func (r *digestRig) to(t *testing.T, address string) []mailtest.Parsed {
	return messagesTo(t, r.smtp, address)
}

// messagesTo returns the messages srv took for address alone, parsed, in
// order.
func messagesTo(t *testing.T, srv *mailtest.Server, address string) []mailtest.Parsed {
	t.Helper()
	var out []mailtest.Parsed
	for _, m := range srv.Messages() {
		if len(m.To) == 1 && m.To[0] == address {
			out = append(out, mailtest.Parse(t, m.Data))
		}
	}
	return out
}

// wantDigest checks that the latest message to the weekly person is a
// digest listing exactly titles, with a post email's list headers.
func (r *digestRig) wantDigest(t *testing.T, n int, titles ...string) {
	t.Helper()
	got := r.to(t, weeklyPerson)
	if len(got) != n {
		t.Fatalf("the weekly person got %d emails, want %d\n%s", len(got), n, r.logs.String())
	}
	m := got[n-1]
	if want := fmt.Sprintf("%d new posts from Stillpoint", len(titles)); len(titles) > 1 && m.Header.Get("Subject") != want {
		t.Errorf("subject %q, want %q", m.Header.Get("Subject"), want)
	}
	if m.Header.Get("List-Unsubscribe") == "" || m.Header.Get("List-Unsubscribe-Post") == "" {
		t.Errorf("the digest lacks List-Unsubscribe: %v", m.Header)
	}
	for _, part := range []string{m.TextPart, m.HTMLPart} {
		for _, title := range titles {
			if c := strings.Count(part, title); c != 1 {
				t.Errorf("%q is listed %d times, want once:\n%s", title, c, part)
			}
		}
		if !strings.Contains(part, "1 Main St") || !strings.Contains(part, "/preferences/") {
			t.Errorf("the digest lacks the postal address or the preferences link:\n%s", part)
		}
	}
}

// Issue 10's digest, with the clock moved across three weeks that cross
// the change to daylight saving time (New York, Sunday 2026-03-08): one
// email a week to the person who chose the digest, listing that week's
// posts, an edited post once with its latest title; none in the week
// without posts; each digest at 09:00 New York time, before and after the
// change; and the person who chose each post gets each post, and no
// digest. Redis loses everything (FLUSHALL) in the middle.
func TestDigestsAcrossThreeWeeks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ny := newYork(t)
		day := func(d, h, min int) time.Time { return time.Date(2026, 3, d, h, min, 0, 0, ny) }
		feb := func(d, h int) time.Time { return time.Date(2026, 2, d, h, 0, 0, 0, ny) }
		r := newDigestRig(t, db, feb(23, 10)) // a Monday, after its digest time
		r.runScheduler(t, "practicemail:test-digest")
		r.at(t, feb(23, 11))

		// Week 1: two posts, one edited before its digest.
		r.at(t, feb(24, 12))
		r.publish(t, "a", "Sleep and the body")
		r.smtp.WaitCount(t, 1, time.Minute)
		r.at(t, feb(25, 12))
		r.publish(t, "b", "Winter walks")
		r.smtp.WaitCount(t, 2, time.Minute)
		r.at(t, feb(26, 12))
		r.edit(t, "b", "Winter walks, revised")
		r.at(t, day(2, 8, 59))
		if n := len(r.to(t, weeklyPerson)); n != 0 {
			t.Fatalf("before 09:00 the weekly person got %d emails", n)
		}
		r.at(t, day(2, 9, 0)) // 14:00 UTC
		r.smtp.WaitCount(t, 3, time.Minute)
		r.wantDigest(t, 1, "Sleep and the body", "Winter walks, revised")

		// Week 2, across the change: one post, and week 1's post edited again.
		r.at(t, day(3, 12, 0))
		r.edit(t, "b", "Winter walks, again")
		r.at(t, day(6, 12, 0))
		r.publish(t, "c", "Spring light")
		r.smtp.WaitCount(t, 4, time.Minute)
		if err := r.rdb.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		r.at(t, day(9, 8, 59)) // 12:59 UTC
		if n := len(r.to(t, weeklyPerson)); n != 1 {
			t.Fatalf("before 09:00 EDT the weekly person got %d emails, want last week's 1", n)
		}
		r.at(t, day(9, 9, 0)) // 13:00 UTC: 09:00 local, not 168 hours after the last
		r.smtp.WaitCount(t, 5, time.Minute)
		r.wantDigest(t, 2, "Spring light")
		if last := r.to(t, weeklyPerson)[1]; strings.Contains(last.TextPart, "Winter walks") {
			t.Errorf("week 2's digest lists week 1's edited post again:\n%s", last.TextPart)
		}

		// Week 3: no posts, no digest.
		r.at(t, day(16, 9, 1))
		r.at(t, day(16, 10, 0))
		if got := r.smtp.Count(); got != 5 {
			t.Errorf("%d messages after a week without posts, want 5", got)
		}
		ds, err := db.Digests(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var states []string
		for _, d := range ds {
			states = append(states, fmt.Sprintf("%s %s %d", d.End.In(ny).Format("Jan 2 15:04"), d.State, d.Posts))
		}
		want := []string{"Mar 2 09:00 sent 2", "Mar 9 09:00 sent 1", "Mar 16 09:00 empty 0"}
		if strings.Join(states, "; ") != strings.Join(want, "; ") {
			t.Errorf("digests %q, want %q", states, want)
		}
		var eachSubjects []string
		for _, m := range r.to(t, eachPerson) {
			eachSubjects = append(eachSubjects, m.Header.Get("Subject"))
		}
		if strings.Join(eachSubjects, "|") != "Sleep and the body|Winter walks|Spring light" {
			t.Errorf("the each-post person got %q, want the three posts one by one", eachSubjects)
		}
	})
}

// A digest time that passed while no scheduler ran is sent once when one
// comes back, listing every post since the last digest, not once per
// missed week; two schedulers that both lead (as if the lock failed) write
// and send it once.
func TestAMissedDigestIsSentOnceOnReturn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ny := newYork(t)
		day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, ny) }
		r := newDigestRig(t, db, day(2, 10))
		r.publish(t, "a", "Sleep and the body")
		r.smtp.WaitCount(t, 1, time.Minute)
		r.at(t, day(9, 10))
		r.publish(t, "b", "Winter walks")
		r.smtp.WaitCount(t, 2, time.Minute)
		r.at(t, day(19, 10)) // Thursday of the third week: two digest times passed
		r.runScheduler(t, "practicemail:test-digest-1")
		r.runScheduler(t, "practicemail:test-digest-2")
		r.at(t, day(19, 11))
		r.smtp.WaitCount(t, 3, time.Minute)
		r.at(t, day(19, 12))
		if got := r.smtp.Count(); got != 3 {
			t.Errorf("%d messages, want the two posts and one digest", got)
		}
		r.wantDigest(t, 1, "Sleep and the body", "Winter walks")
		ds, err := db.Digests(context.Background())
		if err != nil || len(ds) != 1 || !ds[0].End.Equal(day(16, 9)) {
			t.Errorf("digests %+v (%v), want one, ending Monday 16th 09:00", ds, err)
		}
	})
}
