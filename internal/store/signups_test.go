package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// clock is a movable clock for a test's database.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func withClock(db *store.DB) *clock  { c := &clock{t: time.Now()}; db.Now = c.now; return c }
func signup(email string) store.SignupRequest {
	return store.SignupRequest{Email: email, Source: "form", PageURL: "https://stillpoint.example/blog", IP: "192.0.2.7"}
}

func TestSignupQueuesOneConfirmationAndThrottlesRepeats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := withClock(db)
		r, err := db.RequestSignup(ctx, store.SignupRequest{Email: " Ana@Example.org ", Name: "Ana\r\nBcc: x@evil.example",
			Topics: []string{"news"}, Source: "form"})
		must(t, err)
		if r.Outcome != store.SignupConfirm || r.Batch.Kind != store.KindConfirm || r.Batch.Batch != 1 {
			t.Fatalf("first request = %+v, want a confirmation queued in batch 1", r)
		}
		rows, err := db.Deliveries(ctx, store.KindConfirm, r.Batch.SourceID)
		must(t, err)
		if len(rows) != 1 || rows[0].Recipient != "ana@example.org" || rows[0].State != store.DeliveryQueued {
			t.Fatalf("ledger = %+v, want one queued row for ana@example.org", rows)
		}
		s, err := db.SubscriberByEmail(ctx, "ana@example.org")
		must(t, err)
		if s.Status != store.StatusPending || s.Name != "Ana Bcc: x@evil.example" || !cmp.Equal(s.Topics, []string{"news"}) {
			t.Fatalf("subscriber = %+v, want pending, a name on one line, topics [news]", s)
		}

		c.add(ResendMinus())
		again, err := db.RequestSignup(ctx, signup("ana@example.org"))
		must(t, err)
		if again.Outcome != store.SignupThrottled || again.Batch.Batch != 0 {
			t.Fatalf("repeat within 10 minutes = %+v, want throttled, nothing queued", again)
		}
		c.add(2 * time.Minute)
		later, err := db.RequestSignup(ctx, signup("ana@example.org"))
		must(t, err)
		if later.Outcome != store.SignupConfirm || later.Batch.SourceID == r.Batch.SourceID {
			t.Fatalf("repeat after 10 minutes = %+v, want a second confirmation of its own", later)
		}
	})
}

// ResendMinus is just under store.ResendAfter.
func ResendMinus() time.Duration { return store.ResendAfter - time.Second }

func TestConfirmRecordsConsentFromTheRequest(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { testConfirmRecordsConsent(t, engine) })
	}
}

func testConfirmRecordsConsent(t *testing.T, engine string) {
	url := storetest.URL(t, engine)
	db := storetest.OpenAt(t, url)
	{
		withClock(db)
		r, err := db.RequestSignup(ctx, signup("ben@example.org"))
		must(t, err)
		s, err := db.SubscriberByEmail(ctx, "ben@example.org")
		must(t, err)
		got, err := db.ConfirmSubscriber(ctx, s.ID)
		must(t, err)
		if got != store.Confirmed {
			t.Fatalf("first confirm = %q, want confirmed", got)
		}
		got, err = db.ConfirmSubscriber(ctx, s.ID)
		must(t, err)
		if got != store.AlreadyConfirmed {
			t.Fatalf("second confirm = %q, want already", got)
		}
		var source, page, ip string
		must(t, storetest.Raw(t, url).QueryRow(fmt.Sprintf(`SELECT consent_source, consent_page, consent_ip FROM subscribers WHERE id = %d`, s.ID)).Scan(&source, &page, &ip))
		if source != "form" || page != "https://stillpoint.example/blog" || ip != "192.0.2.7" {
			t.Fatalf("consent = %q %q %q, want the request's source, page and address", source, page, ip)
		}
		// Now active: a new request sends "already subscribed" once it may.
		db.Now = func() time.Time { return time.Now().Add(time.Hour) }
		a, err := db.RequestSignup(ctx, signup("ben@example.org"))
		must(t, err)
		if a.Outcome != store.SignupAlready || a.Batch.Kind != store.KindAlready {
			t.Fatalf("request of an active person = %+v, want an already-subscribed email", a)
		}
		_ = r
	}
}

func TestSignupRefusesBouncedAndComplained(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, status := range []string{store.StatusBounced, store.StatusComplained} {
			email := status + "@example.org"
			_, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: email, Suppressed: status})
			must(t, err)
			r, err := db.RequestSignup(ctx, signup(email))
			must(t, err)
			if r.Outcome != store.SignupRefused || r.Batch.Batch != 0 {
				t.Errorf("%s: request = %+v, want refused, nothing queued", status, r)
			}
		}
	})
}

func TestUnsubscribedComesBackOnlyThroughConfirmation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		res, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "cy@example.org", Confirmed: true})
		must(t, err)
		must(t, db.Unsubscribe(ctx, res.ID))
		must(t, db.Unsubscribe(ctx, res.ID)) // again: no change, no error
		if err := db.SetTopics(ctx, res.ID, []string{"news"}); !errors.Is(err, store.ErrNotSubscribed) {
			t.Fatalf("SetTopics after leaving = %v, want ErrNotSubscribed", err)
		}
		r, err := db.RequestSignup(ctx, signup("cy@example.org"))
		must(t, err)
		if r.Outcome != store.SignupConfirm {
			t.Fatalf("request after unsubscribing = %+v, want a confirmation", r)
		}
		el, err := db.Eligible(ctx, store.TopicPosts, []int64{res.ID})
		must(t, err)
		if len(el) != 0 {
			t.Fatalf("pending again, yet eligible for posts: %v", el)
		}
		got, err := db.ConfirmSubscriber(ctx, res.ID)
		must(t, err)
		if got != store.Confirmed {
			t.Fatalf("confirm = %q", got)
		}
		el, err = db.Eligible(ctx, store.TopicPosts, []int64{res.ID})
		must(t, err)
		if len(el) != 1 {
			t.Fatalf("confirmed, yet not eligible for posts")
		}
	})
}

func TestSetTopicsAndEligibility(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		res, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "di@example.org", Confirmed: true, Topics: []string{"posts", "news"}})
		must(t, err)
		must(t, db.SetTopics(ctx, res.ID, []string{"news"}))
		posts, err := db.Eligible(ctx, store.TopicPosts, []int64{res.ID})
		must(t, err)
		news, err := db.Eligible(ctx, store.TopicNews, []int64{res.ID})
		must(t, err)
		if len(posts) != 0 || len(news) != 1 {
			t.Fatalf("after switching posts off: posts %v news %v", posts, news)
		}
		if err := db.SetTopics(ctx, res.ID, []string{"gossip"}); err == nil {
			t.Fatal("SetTopics accepted an unknown topic")
		}
		if err := db.SetTopics(ctx, 999999, []string{"news"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetTopics of nobody = %v, want ErrNotFound", err)
		}
		if err := db.Unsubscribe(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Unsubscribe of nobody = %v, want ErrNotFound", err)
		}
		if got, err := db.ConfirmSubscriber(ctx, 999999); err != nil || got != store.ConfirmGone {
			t.Fatalf("ConfirmSubscriber of nobody = %q, %v; want gone", got, err)
		}
		pending, err := db.EligibleStatus(ctx, store.StatusPending, []int64{res.ID})
		must(t, err)
		active, err := db.EligibleStatus(ctx, store.StatusActive, []int64{res.ID})
		must(t, err)
		if len(pending) != 0 || len(active) != 1 {
			t.Fatalf("EligibleStatus: pending %v active %v", pending, active)
		}
	})
}

// The requests of one second share one batch, each with a row of its own;
// "already subscribed" emails have batches of their own kind; a request in
// the next second starts another batch, which SignupBatchEnd says is over
// a second later.
func TestSignupsOfOneSecondShareABatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := withClock(db)
		c.t = time.UnixMilli(1_800_000_000_250).UTC()
		_, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "cy@example.org", Confirmed: true})
		must(t, err)
		ana, err := db.RequestSignup(ctx, signup("ana@example.org"))
		must(t, err)
		c.add(700 * time.Millisecond)
		ben, err := db.RequestSignup(ctx, signup("ben@example.org"))
		must(t, err)
		cy, err := db.RequestSignup(ctx, signup("cy@example.org"))
		must(t, err)
		if ana.Batch != ben.Batch || ana.Batch.Kind != store.KindConfirm || cy.Batch.Kind != store.KindAlready || cy.Batch.SourceID != ana.Batch.SourceID {
			t.Fatalf("batches = %+v, %+v, %+v; want ana and ben in one confirm batch, cy in the already batch of the same second", ana.Batch, ben.Batch, cy.Batch)
		}
		rows, err := db.Deliveries(ctx, store.KindConfirm, ana.Batch.SourceID)
		must(t, err)
		if len(rows) != 2 || rows[0].Recipient != "ana@example.org" || rows[1].Recipient != "ben@example.org" || rows[0].Batch != ana.Batch.Batch {
			t.Fatalf("ledger = %+v, want one queued row each for ana and ben in the shared batch", rows)
		}
		end, ok := store.SignupBatchEnd(ana.Batch)
		if want := time.UnixMilli(1_800_000_001_000).UTC(); !ok || !end.Equal(want) {
			t.Fatalf("SignupBatchEnd = %v, %v; want %v", end, ok, want)
		}
		c.add(100 * time.Millisecond) // 1_800_000_001_050: the next second
		di, err := db.RequestSignup(ctx, signup("di@example.org"))
		must(t, err)
		if di.Batch.Kind != store.KindConfirm || di.Batch.SourceID != ana.Batch.SourceID+1 {
			t.Fatalf("next second's batch = %+v, want the one after %+v", di.Batch, ana.Batch)
		}
		if _, ok := store.SignupBatchEnd(store.BatchRef{Kind: store.KindPost, SourceID: 1, Batch: 1}); ok {
			t.Fatal("SignupBatchEnd took a post's batch for a sign-up batch")
		}
	})
}
