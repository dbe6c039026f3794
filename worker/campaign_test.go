package worker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/seal"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// campaignRig is a worker on db sending to a real SMTP server over TCP,
// its database on an injected clock; tests drive the scheduler's part
// (runCampaigns) and the send tasks (handleDeliver) themselves, so that
// each step happens at an exact moment.
type campaignRig struct {
	w     *Worker
	db    *store.DB
	smtp  *mailtest.Server
	clock *fakeClock
}

func newCampaignRig(t *testing.T, db *store.DB, batchSize int) *campaignRig {
	t.Helper()
	clock := &fakeClock{now: time.Now().Truncate(time.Second)}
	db.Now = clock.Now
	srv := mailtest.NewServer(t)
	w := smtpWorker(t, db, srv.URL, 2, mail.Options{})
	w.Options.BatchSize = batchSize
	w.Options.Lease = time.Minute                                 // the clock jumps: leases live by it
	w.Inquiries.BookingURL = "https://stillpoint.example/consult" // {{booking_url}}
	w.Inspector = asynq.NewInspectorFromRedisClient(redistest.Client(t, redistest.Worker))
	return &campaignRig{w: w, db: db, smtp: srv, clock: clock}
}

// create stores a campaign with body to audience, due in `in`.
func (r *campaignRig) create(t *testing.T, audience, body string, in, spread time.Duration, stopAfter int) int64 {
	t.Helper()
	id, err := r.db.CreateCampaign(context.Background(), store.NewCampaign{Subject: "Openings in January", Body: body,
		Format: "markdown", Audience: audience, SendAt: r.clock.Now().Add(in), Spread: spread, StopAfterBookings: stopAfter})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tick is one round of the leading scheduler's campaign work.
func (r *campaignRig) tick(t *testing.T) {
	t.Helper()
	if err := r.w.runCampaigns(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// drain runs every batch with rows due now until none is left due.
func (r *campaignRig) drain(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for range 100 {
		open, err := r.db.OpenBatches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ran := false
		for _, b := range open {
			if due, ok, err := r.db.BatchDue(ctx, b.BatchRef); err != nil || !ok || due.After(r.clock.Now()) {
				continue
			}
			ran = true
			if err := r.w.handleDeliver(ctx, deliverTask(b.BatchRef)); err != nil {
				t.Fatal(err)
			}
		}
		if !ran {
			return
		}
	}
	t.Fatal("batches still due after 100 rounds")
}

func (r *campaignRig) campaign(t *testing.T, id int64) (*store.Campaign, store.CampaignCounts) {
	t.Helper()
	c, err := r.db.Campaign(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := r.db.CampaignCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c, counts[id]
}

func addPerson(t *testing.T, db *store.DB, email, name string, confirmed bool, topics ...string) int64 {
	t.Helper()
	res, err := db.AddSubscriber(context.Background(), store.NewSubscriber{Email: email, Name: name, Confirmed: confirmed, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	return res.ID
}

// wantExactly fails unless the server got exactly one message for each of
// want and none for anyone else.
func wantExactly(t *testing.T, srv *mailtest.Server, want ...string) {
	t.Helper()
	got := perRecipient(srv)
	for _, w := range want {
		if got[w] != 1 {
			t.Errorf("%s got %d messages, want 1", w, got[w])
		}
		delete(got, w)
	}
	for to, n := range got {
		t.Errorf("%s got %d messages, want none", to, n)
	}
}

// The first case, on both engines: a campaign to topic:news due in
// 2 s goes once to each confirmed news subscriber, by their first name;
// nobody who follows only posts, has not confirmed, or left gets it; nor
// does someone who leaves after the audience is fixed, nor someone who
// joins after.
func TestCampaignGoesOnceToEachConfirmedNewsSubscriber(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newCampaignRig(t, db, 2)
		ctx := context.Background()
		addPerson(t, db, "ada@example.com", "Ada Lovelace", true, store.TopicNews)
		addPerson(t, db, "bo@example.com", "", true, store.TopicNews, store.TopicPosts)
		addPerson(t, db, "cy@example.com", "Cy", true, store.TopicNews)
		addPerson(t, db, "dee@example.com", "Ada King", true, store.TopicNews)
		late := addPerson(t, db, "late@example.com", "Lee", true, store.TopicNews)
		addPerson(t, db, "posts@example.com", "Po", true, store.TopicPosts)
		addPerson(t, db, "pending@example.com", "Pen", false, store.TopicNews)
		gone := addPerson(t, db, "gone@example.com", "Gon", true, store.TopicNews)
		if err := db.Unsubscribe(ctx, gone); err != nil {
			t.Fatal(err)
		}
		id := r.create(t, store.AudienceNews, "Hello {{first_name|Friend}},\n\nFour openings at {{practice_name}}.", 2*time.Second, 0, 0)

		r.tick(t)
		if c, n := r.campaign(t, id); c.State != store.CampaignScheduled || n != (store.CampaignCounts{}) {
			t.Fatalf("before its time: %s, %+v; want scheduled and no rows", c.State, n)
		}
		r.clock.Add(2 * time.Second)
		r.tick(t)
		c, n := r.campaign(t, id)
		if c.State != store.CampaignSending || c.AudienceSize != 5 || n.Remaining != 5 {
			t.Fatalf("at its time: %s, audience %d, %+v; want sending to 5", c.State, c.AudienceSize, n)
		}
		// After the audience is fixed: one leaves, one joins.
		if err := db.Unsubscribe(ctx, late); err != nil {
			t.Fatal(err)
		}
		addPerson(t, db, "joined@example.com", "Jo", true, store.TopicNews)
		r.tick(t) // a second tick starts nothing again
		r.drain(t)
		r.tick(t)

		wantExactly(t, r.smtp, "ada@example.com", "bo@example.com", "cy@example.com", "dee@example.com")
		for _, m := range r.smtp.Messages() {
			want := map[string]string{"ada@example.com": "Hello Ada,", "dee@example.com": "Hello Ada,",
				"bo@example.com": "Hello Friend,", "cy@example.com": "Hello Cy,"}[m.To[0]]
			if body := string(m.Data); !strings.Contains(body, want) || !strings.Contains(body, "Four openings at Stillpoint") {
				t.Errorf("%s's message lacks %q", m.To[0], want)
			}
			if m.Header.Get("List-Unsubscribe") == "" {
				t.Errorf("%s's message has no List-Unsubscribe", m.To[0])
			}
		}
		c, n = r.campaign(t, id)
		if c.State != store.CampaignSent || n != (store.CampaignCounts{Sent: 4, Suppressed: 1}) {
			t.Fatalf("after: %s, %+v; want sent, 4 sent and 1 suppressed", c.State, n)
		}
	})
}

// inquirers:unbooked is the people who inquired, said yes to news and have
// not booked: not those who said no, booked, unsubscribed or were stopped.
func TestCampaignToUnbookedInquirers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newCampaignRig(t, db, 500)
		ctx := context.Background()
		sealer, err := seal.New([]byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		inquire := func(email, name string, news bool) {
			if _, err := db.SaveInquiry(ctx, store.NewInquiry{Contact: store.NewContact{Email: email, Name: name, News: news},
				Message: "hello"}, sealer); err != nil {
				t.Fatal(err)
			}
		}
		inquire("yes@example.com", "Yara Smith", true)
		inquire("no@example.com", "Nan", false)
		inquire("booked@example.com", "Bea", true)
		inquire("unsub@example.com", "Una", true)
		inquire("stopped@example.com", "Sto", true)
		inquire("replied@example.com", "", true)
		addPerson(t, db, "subscriber@example.com", "Sub", true, store.TopicNews) // not an inquirer
		for email, why := range map[string]string{"booked@example.com": store.ContactBooked,
			"unsub@example.com": store.ContactUnsubscribed, "stopped@example.com": store.ContactStopped,
			"replied@example.com": store.ContactReplied} {
			if _, err := db.StopEnrollments(ctx, email, why); err != nil {
				t.Fatal(err)
			}
		}
		id := r.create(t, store.AudienceInquirers, "Hi {{first_name}}, book at {{booking_url}}", 0, 0, 0)
		r.tick(t)
		r.drain(t)
		r.tick(t)
		wantExactly(t, r.smtp, "yes@example.com", "replied@example.com")
		for _, m := range r.smtp.Messages() {
			want := map[string]string{"yes@example.com": "Hi Yara,", "replied@example.com": "Hi there,"}[m.To[0]]
			if !strings.Contains(string(m.Data), want) {
				t.Errorf("%s's message lacks %q", m.To[0], want)
			}
		}
		if c, n := r.campaign(t, id); c.State != store.CampaignSent || n.Sent != 2 || c.AudienceSize != 2 {
			t.Fatalf("%s, audience %d, %+v; want sent to 2", c.State, c.AudienceSize, n)
		}
		// Erased, an inquirer leaves no address in the campaign's rows.
		if err := db.EraseContact(ctx, "yes@example.com"); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Deliveries(ctx, store.KindCampaign, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rows {
			if d.Recipient == "yes@example.com" {
				t.Fatalf("the erased inquirer's address is still in the ledger: %+v", d)
			}
		}
	})
}

// Canceled before its time, a campaign writes no row and sends nothing.
func TestCampaignCanceledBeforeItsTimeSendsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newCampaignRig(t, db, 500)
		addPerson(t, db, "ada@example.com", "Ada", true, store.TopicNews)
		id := r.create(t, store.AudienceNews, "Hello", 2*time.Second, 0, 0)
		if err := db.CancelCampaign(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Minute)
		r.tick(t)
		r.drain(t)
		wantExactly(t, r.smtp)
		if c, n := r.campaign(t, id); c.State != store.CampaignCanceled || n != (store.CampaignCounts{}) {
			t.Fatalf("%s, %+v; want canceled and no rows", c.State, n)
		}
		if err := db.ScheduleCampaign(context.Background(), id, r.clock.Now()); err == nil {
			t.Fatal("a canceled campaign was scheduled again")
		}
	})
}

// Canceled while 10,000 messages go to a slowed server, a campaign stops:
// after the cancel, each sender asks the campaign's state within
// haltEvery (here: the clock moves a second at the cancel), so at most one
// message per sender already past its gate still goes. The counts say how
// many went, and they agree with the server.
func TestCampaignCanceledMidSendStopsTheRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const people, senders = 10000, 4
		r := newCampaignRig(t, db, 500)
		ctx := context.Background()
		subs := make([]store.NewSubscriber, people)
		for i := range subs {
			subs[i] = store.NewSubscriber{Email: fmt.Sprintf("p%05d@example.com", i), Confirmed: true, Topics: []string{store.TopicNews}}
		}
		if _, err := db.AddSubscribers(ctx, subs); err != nil {
			t.Fatal(err)
		}
		id := r.create(t, store.AudienceNews, "Hello", 0, 0, 0)
		var accepted, afterCancel atomic.Int64
		var canceledAt atomic.Int64 // unix nanos
		var lastAccept atomic.Int64
		r.smtp.SetDataHook(func([]string) *smtp.SMTPError {
			time.Sleep(2 * time.Millisecond) // the slowed server
			if canceledAt.Load() != 0 {
				afterCancel.Add(1)
				lastAccept.Store(time.Now().UnixNano())
			}
			if accepted.Add(1) == 300 {
				if err := db.CancelCampaign(ctx, id); err != nil {
					t.Error(err)
				}
				r.clock.Add(time.Second)
				canceledAt.Store(time.Now().UnixNano())
			}
			return nil
		})
		r.tick(t)
		open, err := db.OpenBatches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		work := make(chan store.BatchRef, len(open))
		for _, b := range open {
			work <- b.BatchRef
		}
		close(work)
		var wg sync.WaitGroup
		for range senders {
			wg.Go(func() {
				for b := range work {
					if err := r.w.handleDeliver(ctx, deliverTask(b)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		r.tick(t)
		c, n := r.campaign(t, id)
		if c.State != store.CampaignCanceled || n.Remaining != 0 || n.Sent+n.Halted != people {
			t.Fatalf("%s, %+v; want canceled, every row sent or halted", c.State, n)
		}
		if got := int64(r.smtp.Count()); got != n.Sent {
			t.Fatalf("the server took %d messages, the counts say %d sent", got, n.Sent)
		}
		if a := afterCancel.Load(); a > senders {
			t.Fatalf("%d messages went after the cancel; at most one per sender (%d) may", a, senders)
		}
		var late time.Duration
		if l := lastAccept.Load(); l != 0 {
			late = time.Duration(l - canceledAt.Load())
		}
		t.Logf("%s: %d sent, %d halted; %d messages after the cancel, the last %v after it",
			db.Engine(), n.Sent, n.Halted, afterCancel.Load(), late)
	})
}

// --stop-after-bookings 2 with 50 recipients spread over 20 s: once two
// booking events have come in, nothing more goes; the slots were decided
// at the start.
func TestCampaignStopsAfterBookings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newCampaignRig(t, db, 500)
		ctx := context.Background()
		for i := range 50 {
			addPerson(t, db, fmt.Sprintf("p%02d@example.com", i), "", true, store.TopicNews)
		}
		id := r.create(t, store.AudienceNews, "Hello", 0, 20*time.Second, 2)
		r.tick(t)
		r.drain(t)
		if got := r.smtp.Count(); got != 1 {
			t.Fatalf("at the start %d went; the first slot only (1) is due", got)
		}
		for range 5 { // 5 s: slots every 0.4 s
			r.clock.Add(time.Second)
			r.drain(t)
		}
		before := r.smtp.Count()
		if before < 10 || before > 15 {
			t.Fatalf("%d sent in the first 5 s of 20 s for 50; want about 13", before)
		}
		if _, err := db.RecordBooking(ctx, store.WebhookBooking, "one"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordWebhookEvent(ctx, store.WebhookBooking, "a cancellation"); err != nil {
			t.Fatal(err)
		}
		r.clock.Add(time.Second)
		r.drain(t)
		if c, _ := r.campaign(t, id); c.State != store.CampaignSending {
			t.Fatalf("after one booking and a cancellation: %s; want still sending", c.State)
		}
		if _, err := db.RecordBooking(ctx, store.WebhookCalendly, "two"); err != nil {
			t.Fatal(err)
		}
		at := r.smtp.Count()
		for range 20 {
			r.clock.Add(time.Second)
			r.tick(t)
			r.drain(t)
		}
		c, n := r.campaign(t, id)
		if got := r.smtp.Count(); got != at {
			t.Fatalf("%d more sent after the second booking", got-at)
		}
		if c.State != store.CampaignStopped || n.Remaining != 0 || n.Sent != int64(at) || n.Halted != int64(50-at) {
			t.Fatalf("%s, %+v; want stopped, %d sent and the rest halted", c.State, n, at)
		}
	})
}

// Two schedulers starting the same campaign at once start it once: one
// set of rows, one message each.
func TestTwoSchedulersStartACampaignOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newCampaignRig(t, db, 3)
		for i := range 10 {
			addPerson(t, db, fmt.Sprintf("p%02d@example.com", i), "", true, store.TopicNews)
		}
		id := r.create(t, store.AudienceNews, "Hello", 0, 0, 0)
		other := smtpWorker(t, db, r.smtp.URL, 2, mail.Options{})
		other.Inspector = r.w.Inspector
		var wg sync.WaitGroup
		for _, w := range []*Worker{r.w, other} {
			wg.Go(func() {
				if err := w.runCampaigns(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		r.drain(t)
		if c, n := r.campaign(t, id); c.AudienceSize != 10 || n.Sent != 10 {
			t.Fatalf("audience %d, %+v; want 10 sent", c.AudienceSize, n)
		}
		want := make([]string, 10)
		for i := range want {
			want[i] = fmt.Sprintf("p%02d@example.com", i)
		}
		wantExactly(t, r.smtp, want...)
	})
}

// A test goes to its one address, marked as a test, through the ledger,
// and counts for nothing in the campaign; an address that left gets none.
func TestCampaignTestIsMarkedAndNotCounted(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	r := newCampaignRig(t, db, 500)
	ctx := context.Background()
	gone := addPerson(t, db, "gone@example.com", "", true, store.TopicNews)
	if err := db.Unsubscribe(ctx, gone); err != nil {
		t.Fatal(err)
	}
	id := r.create(t, store.AudienceNews, "Hello {{first_name}}", time.Hour, 0, 0)
	for _, to := range []string{"therapist@example.com", "gone@example.com"} {
		if err := r.w.SendCampaignTest(ctx, id, to); err != nil {
			t.Fatal(err)
		}
	}
	r.drain(t)
	wantExactly(t, r.smtp, "therapist@example.com")
	m := r.smtp.Messages()[0]
	if s := m.Header.Get("Subject"); s != "[Test] Openings in January" || !strings.Contains(string(m.Data), "Hello there") {
		t.Fatalf("subject %q, body:\n%s", s, m.Data)
	}
	if c, n := r.campaign(t, id); c.State != store.CampaignScheduled || n != (store.CampaignCounts{}) {
		t.Fatalf("after a test: %s, %+v; want still scheduled, nothing counted", c.State, n)
	}
}
