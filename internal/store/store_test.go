package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

var ctx = context.Background()

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		n, err := db.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
		}
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	_, err := store.Open(ctx, "mysql://x")
	if err == nil {
		t.Fatal("Open(mysql://x) succeeded")
	}
}

func TestSyncFeeds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		must(t, db.SyncFeeds(ctx, []store.FeedSpec{{Name: "blog", URL: "https://a.example/feed"}, {Name: "news", URL: "https://a.example/news"}}))
		f, err := db.FeedByName(ctx, "blog")
		must(t, err)
		_, err = db.SavePoll(ctx, f.ID, store.PollOutcome{ETag: `"v1"`, Next: time.Now().Add(time.Hour)})
		must(t, err)
		must(t, db.SyncFeeds(ctx, []store.FeedSpec{{Name: "blog", URL: "https://b.example/feed"}}))
		feeds, err := db.Feeds(ctx)
		must(t, err)
		got := map[string]string{}
		for _, f := range feeds {
			got[f.Name] = fmt.Sprintf("%s enabled=%v etag=%q baselined=%v", f.URL, f.Enabled, f.ETag, f.Baselined)
		}
		want := map[string]string{
			"blog": `https://b.example/feed enabled=true etag="" baselined=true`,
			"news": `https://a.example/news enabled=false etag="" baselined=false`,
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("feeds (-want +got):\n%s", d)
		}
		if _, err := db.FeedByName(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("FeedByName(nope) = %v, want ErrNotFound", err)
		}
	})
}

func TestSavePoll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		feed := addFeed(t, db)
		ids, err := db.SavePoll(ctx, feed, store.PollOutcome{
			Baseline: []store.Post{post("a"), post("b")},
			Held:     []store.Post{post("h")},
			New:      []store.Post{post("c")},
			Status:   "4 items", Next: time.Now(),
		})
		must(t, err)
		if len(ids) != 1 {
			t.Fatalf("new ids = %v, want one", ids)
		}
		// A second poller that decided the same, racing: nothing new.
		again, err := db.SavePoll(ctx, feed, store.PollOutcome{New: []store.Post{post("c")}, Next: time.Now()})
		must(t, err)
		if len(again) != 0 {
			t.Fatalf("racing poller created %v, want nothing", again)
		}
		edited := post("a")
		edited.Title, edited.Hash = "Edited", "h2"
		_, err = db.SavePoll(ctx, feed, store.PollOutcome{Updated: []store.Post{edited}, Next: time.Now()})
		must(t, err)
		known, err := db.KnownPosts(ctx, feed)
		must(t, err)
		if d := cmp.Diff(map[string]string{"guid:a": "h2", "guid:b": "hb", "guid:c": "hc", "guid:h": "hh"}, known); d != "" {
			t.Fatalf("known (-want +got):\n%s", d)
		}
		p, err := db.Post(ctx, ids[0])
		must(t, err)
		if p.State != store.PostNew || p.Title != "Post c" || p.Published.IsZero() {
			t.Fatalf("post = %+v", p)
		}
		held, err := db.PostsInState(ctx, store.PostHeld, feed)
		must(t, err)
		approved, err := db.ApproveHeld(ctx, 0)
		must(t, err)
		if len(held) != 1 || len(approved) != 1 || approved[0] != held[0].ID {
			t.Fatalf("held %v approved %v", held, approved)
		}
		ok, err := db.SetPostState(ctx, ids[0], store.PostNew, store.PostSending)
		must(t, err)
		ok2, err := db.SetPostState(ctx, ids[0], store.PostNew, store.PostSending)
		must(t, err)
		if !ok || ok2 {
			t.Fatalf("SetPostState twice = %v, %v; want true, false", ok, ok2)
		}
	})
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"  Anna@Example.COM ":           "anna@example.com",
		"Anna Smith <anna@example.com>": "anna@example.com",
		"":                              "",
		"not-an-email":                  "",
		"anna@localhost":                "",
		"a@b.":                          "",
	} {
		got, err := store.NormalizeEmail(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestAddSubscriber(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "Anna@Example.com", Name: "Anna"})
		must(t, err)
		if !r.Created || r.Status != store.StatusPending {
			t.Fatalf("first add = %+v", r)
		}
		r2, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "anna@example.com", Confirmed: true, Topics: []string{"news"}})
		must(t, err)
		if r2.Created || r2.ID != r.ID || r2.Status != store.StatusActive {
			t.Fatalf("second add = %+v", r2)
		}
		must(t, db.SetSubscriberStatus(ctx, r.ID, store.StatusUnsubscribed))
		r3, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "anna@example.com", Confirmed: true})
		must(t, err)
		if r3.Status != store.StatusUnsubscribed {
			t.Fatalf("an import re-subscribed someone who left: %+v", r3)
		}
		s, err := db.SubscriberByEmail(ctx, "ANNA@example.com")
		must(t, err)
		if s.Name != "Anna" || cmp.Diff([]string{"news", "posts"}, s.Topics) != "" {
			t.Fatalf("subscriber = %+v", s)
		}
		if _, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "nope"}); !errors.Is(err, store.ErrInvalidEmail) {
			t.Fatalf("bad email: %v", err)
		}
	})
}

func TestFanOutPagesResumesAndIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		addSubscribers(t, db, 25, store.StatusActive, "posts")
		addSubscribers(t, db, 3, store.StatusPending, "posts")
		addSubscribers(t, db, 4, store.StatusActive, "news")
		var pages []store.FanOutPage
		for i := 0; i < 10; i++ {
			p, err := db.FanOut(ctx, store.KindPost, 7, "posts", 10)
			must(t, err)
			pages = append(pages, p)
			if p.Done {
				break
			}
		}
		rows := []int{}
		for _, p := range pages {
			rows = append(rows, p.Rows)
		}
		if d := cmp.Diff([]int{10, 10, 5, 0}, rows); d != "" {
			t.Fatalf("rows per page (-want +got):\n%s", d)
		}
		if b := pages[2].Batch; b != (store.BatchRef{Kind: store.KindPost, SourceID: 7, Batch: 3}) {
			t.Fatalf("third batch = %+v", b)
		}
		p, err := db.FanOut(ctx, store.KindPost, 7, "posts", 10)
		must(t, err)
		total, done, err := db.FanOutProgress(ctx, store.KindPost, 7)
		must(t, err)
		if !p.Done || !done || total != 25 {
			t.Fatalf("after done: page %+v, progress %d %v", p, total, done)
		}
		ds, err := db.Deliveries(ctx, store.KindPost, 7)
		must(t, err)
		if len(ds) != 25 {
			t.Fatalf("ledger has %d rows, want 25", len(ds))
		}
	})
}

func TestClaimLeaseRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBatch(t, db, 5)
		soon := time.Now().Add(time.Minute)
		a, err := db.Claim(ctx, b, "a", soon)
		must(t, err)
		other, err := db.Claim(ctx, b, "b", soon)
		must(t, err)
		if len(a) != 5 || len(other) != 0 || a[0].Attempts != 1 || a[0].SubscriberID == 0 || a[0].ID > a[4].ID {
			t.Fatalf("claims: a=%+v b=%+v", a, other)
		}
		ok, err := db.Record(ctx, "a", store.Outcome{ID: a[0].ID, State: store.DeliverySent, Reply: "250 ok", MessageID: "<m1@x>"})
		must(t, err)
		stolen, err := db.Record(ctx, "b", store.Outcome{ID: a[1].ID, State: store.DeliverySent})
		must(t, err)
		if !ok || stolen {
			t.Fatalf("Record by owner = %v, by stranger = %v", ok, stolen)
		}
		_, err = db.Record(ctx, "a", store.Outcome{ID: a[1].ID, State: store.DeliveryQueued, Reply: "451 later", Next: time.Now().Add(time.Hour)})
		must(t, err)
		_, err = db.Record(ctx, "a", store.Outcome{ID: a[2].ID, State: store.DeliveryFailed, Reply: "550 no such user", Bounce: true})
		must(t, err)
		// The rest of a's lease expires: b may take those rows, but not the one due later.
		n, err := db.RenewLease(ctx, b, "a", time.Now().Add(-time.Second))
		must(t, err)
		if n != 2 {
			t.Fatalf("renewed %d rows, want 2", n)
		}
		open, err := db.OpenBatches(ctx)
		must(t, err)
		if len(open) != 1 || open[0].BatchRef != b {
			t.Fatalf("open batches = %+v", open)
		}
		got, err := db.Claim(ctx, b, "b", soon)
		must(t, err)
		// a never said what became of them: their attempt is b's first.
		if len(got) != 2 || got[0].Attempts != 1 {
			t.Fatalf("b claimed %+v, want the 2 rows a left, on their first counted attempt", got)
		}
		late, err := db.Record(ctx, "a", store.Outcome{ID: got[0].ID, State: store.DeliverySent})
		must(t, err)
		if late {
			t.Fatal("a recorded a row after losing its lease")
		}
		owners, err := db.LeaseOwners(ctx)
		must(t, err)
		released, err := db.ReleaseOwner(ctx, "b")
		must(t, err)
		if cmp.Diff([]string{"b"}, owners) != "" || released != 2 {
			t.Fatalf("owners %v released %d", owners, released)
		}
		ds, err := db.Deliveries(ctx, store.KindPost, 1)
		must(t, err)
		states := map[string]int{}
		for _, d := range ds {
			states[d.State]++
		}
		if d := cmp.Diff(map[string]int{"sent": 1, "queued": 3, "failed": 1}, states); d != "" {
			t.Fatalf("states (-want +got):\n%s", d)
		}
		if ds[0].MessageID != "<m1@x>" || ds[0].SentAt.IsZero() || ds[2].LastReply != "550 no such user" {
			t.Fatalf("rows: %+v", ds[:3])
		}
	})
}

func TestBouncesSuppress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		addSubscribers(t, db, 1, store.StatusActive, "posts")
		for src := int64(1); src <= store.BounceLimit; src++ {
			page, err := db.FanOut(ctx, store.KindPost, src, "posts", 10)
			must(t, err)
			c, err := db.Claim(ctx, page.Batch, "w", time.Now().Add(time.Minute))
			must(t, err)
			_, err = db.Record(ctx, "w", store.Outcome{ID: c[0].ID, State: store.DeliveryFailed, Reply: "550", Bounce: true})
			must(t, err)
		}
		s, err := db.SubscriberByEmail(ctx, "p0@example.com")
		must(t, err)
		if s.Status != store.StatusBounced {
			t.Fatalf("after %d bounces status = %s", store.BounceLimit, s.Status)
		}
		el, err := db.Eligible(ctx, "posts", []int64{s.ID})
		must(t, err)
		if _, ok := el[s.ID]; ok {
			t.Fatal("a bounced address is still eligible")
		}
	})
}

func TestCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		addSubscribers(t, db, 3, store.StatusActive, "posts")
		addSubscribers(t, db, 2, store.StatusPending, "posts")
		c, err := db.Counts(ctx)
		must(t, err)
		if d := cmp.Diff(map[string]int64{"active": 3, "pending": 2}, c.Subscribers); d != "" {
			t.Fatalf("subscribers (-want +got):\n%s", d)
		}
	})
}

func addFeed(t *testing.T, db *store.DB) int64 {
	t.Helper()
	must(t, db.SyncFeeds(ctx, []store.FeedSpec{{Name: "blog", URL: "https://x.example/feed"}}))
	f, err := db.FeedByName(ctx, "blog")
	must(t, err)
	return f.ID
}

func post(k string) store.Post {
	return store.Post{Key: "guid:" + k, GUID: k, Title: "Post " + k, Hash: "h" + k, Published: time.Now()}
}

// addSubscribers adds n subscribers with addresses unique within the database.
func addSubscribers(t *testing.T, db *store.DB, n int, status, topic string) {
	t.Helper()
	c, err := db.Counts(ctx)
	must(t, err)
	var have int64
	for _, v := range c.Subscribers {
		have += v
	}
	for i := 0; i < n; i++ {
		r, err := db.AddSubscriber(ctx, store.NewSubscriber{
			Email: fmt.Sprintf("p%d@example.com", int(have)+i), Topics: []string{topic}, Confirmed: status == store.StatusActive,
		})
		must(t, err)
		if status != store.StatusActive && status != store.StatusPending {
			must(t, db.SetSubscriberStatus(ctx, r.ID, status))
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestInstanceIDIsStable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, err := db.InstanceID(ctx)
		must(t, err)
		b, err := db.InstanceID(ctx)
		must(t, err)
		if a != b || len(a) != 10 {
			t.Fatalf("InstanceID = %q then %q; want one stable 10-hex-digit ID", a, b)
		}
	})
}

// Many senders recording at once share commits and each learns its own result.
func TestRecordConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		addSubscribers(t, db, 200, store.StatusActive, "posts")
		page, err := db.FanOut(ctx, store.KindPost, 1, "posts", 500)
		must(t, err)
		rows, err := db.Claim(ctx, page.Batch, "a", time.Now().Add(time.Minute))
		must(t, err)
		type result struct {
			held bool
			err  error
		}
		results := make(chan result, len(rows))
		for i, r := range rows {
			owner := "a"
			if i%50 == 0 {
				owner = "stranger" // does not hold the lease: must be refused
			}
			go func() {
				held, err := db.Record(ctx, owner, store.Outcome{ID: r.ID, State: store.DeliverySent, Reply: "250"})
				results <- result{held, err}
			}()
		}
		held := 0
		for range rows {
			r := <-results
			must(t, r.err)
			if r.held {
				held++
			}
		}
		ds, err := db.Deliveries(ctx, store.KindPost, 1)
		must(t, err)
		sent := 0
		for _, d := range ds {
			if d.State == store.DeliverySent {
				sent++
			}
		}
		if held != 196 || sent != 196 {
			t.Fatalf("held %d, sent %d; want 196 and 196 (4 of 200 recorded by a stranger)", held, sent)
		}
	})
}

// TestRecordGroupWithAStranger hands the recorder more outcomes at once
// than one INSERT takes, one of them from a sender without the lease: that
// one is refused and every other is written.
func TestRecordGroupWithAStranger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBatch(t, db, 20)
		rows, err := db.Claim(ctx, b, "a", time.Now().Add(time.Minute))
		must(t, err)
		db.RecordGroup = len(rows)
		var recs []*store.Recording
		for i, r := range rows {
			owner := "a"
			if i == 3 {
				owner = "stranger"
			}
			recs = append(recs, db.RecordAsync(owner, store.Outcome{ID: r.ID, State: store.DeliverySent, Reply: "250"}, nil))
		}
		for i, r := range recs {
			held, err := r.Wait(ctx)
			must(t, err)
			if held != (i != 3) {
				t.Errorf("outcome %d: held = %v", i, held)
			}
		}
		ds, err := db.Deliveries(ctx, store.KindPost, 1)
		must(t, err)
		for i, d := range ds {
			if want := map[bool]string{true: store.DeliverySent, false: store.DeliveryQueued}[i != 3]; d.State != want {
				t.Errorf("row %d: state %s, want %s", i, d.State, want)
			}
		}
	})
}

// An outcome, once recorded, settles its row for good, whatever happens to
// the lease afterwards: on SQLite the outcome sits in the journal until a
// fold, and a claim or release that did not fold first would send the row
// again or put it back in the queue.
func TestRecordedOutcomeSurvivesClaimAndRelease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBatch(t, db, 4)
		// a's lease has already run out when it records: a slow sender.
		a, err := db.Claim(ctx, b, "a", time.Now().Add(-time.Second))
		must(t, err)
		held, err := db.Record(ctx, "a", store.Outcome{ID: a[0].ID, State: store.DeliverySent, Reply: "250 ok", MessageID: "<m@x>"})
		must(t, err)
		if !held {
			t.Fatal("a's outcome was refused before anyone else took the rows")
		}
		got, err := db.Claim(ctx, b, "b", time.Now().Add(time.Minute))
		must(t, err)
		if len(got) != 3 || got[0].ID == a[0].ID {
			t.Fatalf("b claimed %+v; want the 3 rows without an outcome", got)
		}
		held, err = db.Record(ctx, "b", store.Outcome{ID: got[0].ID, State: store.DeliveryFailed, Reply: "550 no", Bounce: true})
		must(t, err)
		if !held {
			t.Fatal("b's outcome was refused")
		}
		released, err := db.ReleaseLease(ctx, b, "b", time.Time{})
		must(t, err)
		if released != 2 {
			t.Fatalf("released %d rows, want the 2 without an outcome", released)
		}
		c, err := db.Counts(ctx)
		must(t, err)
		if d := cmp.Diff(map[string]int64{"sent": 1, "failed": 1, "queued": 2}, c.Deliveries); d != "" {
			t.Fatalf("deliveries by state (-want +got):\n%s", d)
		}
		ds, err := db.Deliveries(ctx, store.KindPost, 1)
		must(t, err)
		if ds[0].State != store.DeliverySent || ds[0].MessageID != "<m@x>" || ds[0].Attempts != 1 || ds[0].SentAt.IsZero() {
			t.Fatalf("the row sent by a: %+v", ds[0])
		}
	})
}

// newBatch adds n active subscribers and fans post 1 out to them in one batch.
func newBatch(t *testing.T, db *store.DB, n int) store.BatchRef {
	t.Helper()
	addSubscribers(t, db, n, store.StatusActive, "posts")
	page, err := db.FanOut(ctx, store.KindPost, 1, "posts", 100)
	must(t, err)
	return page.Batch
}

// Sending shows each post still on its way, and drops it once every row is
// settled.
func TestSendingProgress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		addSubscribers(t, db, 3, store.StatusActive, "posts")
		feed := addFeed(t, db)
		ids, err := db.SavePoll(ctx, feed, store.PollOutcome{New: []store.Post{post("c")}, Next: time.Now()})
		must(t, err)
		id := ids[0]
		progress := func() []store.PostProgress {
			t.Helper()
			p, err := db.Sending(ctx)
			must(t, err)
			return p
		}
		if got := progress(); len(got) != 0 {
			t.Fatalf("before the fan-out: %+v, want nothing", got)
		}
		_, err = db.SetPostState(ctx, id, store.PostNew, store.PostSending)
		must(t, err)
		page, err := db.FanOut(ctx, store.KindPost, id, "posts", 2)
		must(t, err)
		rows, err := db.Claim(ctx, page.Batch, "w", time.Now().Add(time.Minute))
		must(t, err)
		_, err = db.Record(ctx, "w", store.Outcome{ID: rows[0].ID, State: store.DeliverySent, Reply: "250"})
		must(t, err)
		_, err = db.Record(ctx, "w", store.Outcome{ID: rows[1].ID, State: store.DeliveryFailed, Reply: "550", Bounce: true})
		must(t, err)
		want := []store.PostProgress{{PostID: id, Title: "Post c", Sent: 1, Failed: 1}}
		if d := cmp.Diff(want, progress()); d != "" {
			t.Fatalf("fanning out (-want +got):\n%s", d)
		}
		for !page.Done {
			page, err = db.FanOut(ctx, store.KindPost, id, "posts", 2)
			must(t, err)
		}
		_, err = db.SetPostState(ctx, id, store.PostSending, store.PostSent)
		must(t, err)
		want[0].ToGo, want[0].FanOutDone = 1, true
		if d := cmp.Diff(want, progress()); d != "" {
			t.Fatalf("fanned out, one to go (-want +got):\n%s", d)
		}
		if want[0].Recipients() != 3 {
			t.Fatalf("recipients = %d, want 3", want[0].Recipients())
		}
		last, err := db.Claim(ctx, store.BatchRef{Kind: store.KindPost, SourceID: id, Batch: 2}, "w", time.Now().Add(time.Minute))
		must(t, err)
		_, err = db.Record(ctx, "w", store.Outcome{ID: last[0].ID, State: store.DeliverySuppressed, Reply: "gone"})
		must(t, err)
		if got := progress(); len(got) != 0 {
			t.Fatalf("all settled: %+v, want nothing", got)
		}
	})
}

// Processes started together on a fresh database (`web`, `worker` and
// `scheduler` sharing one PostgreSQL, say) each migrate it at start; none
// may fail because another got there first.
func TestConcurrentMigrations(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			const n = 4
			errs := make(chan error, n)
			for range n {
				go func() {
					db, err := store.Open(ctx, url)
					if err != nil {
						errs <- err
						return
					}
					defer db.Close()
					_, err = db.Migrate(ctx)
					errs <- err
				}()
			}
			for range n {
				if err := <-errs; err != nil {
					t.Errorf("Migrate: %v", err)
				}
			}
			db, err := store.Open(ctx, url)
			must(t, err)
			defer db.Close()
			must(t, db.CheckSchema(ctx))
		})
	}
}
