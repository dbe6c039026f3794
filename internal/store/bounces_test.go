package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// RecordBounce: hard and complaint suppress at once, soft on the third
// within 30 days (by the store's one clock), an unknown address changes
// nothing, a delivery ID finds its subscriber whatever the address says.
func TestRecordBounce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		addSubscribers(t, db, 4, store.StatusActive, "posts") // p0..p3@example.com
		type step struct {
			b     store.Bounce
			after time.Duration // the clock moves first
			want  store.BounceResult
		}
		hard := store.Bounce{Email: "P0@example.com", Type: store.BounceHard, Status: "5.1.1", Reason: "user unknown", Source: "dsn"}
		soft := store.Bounce{Email: "p1@example.com", Type: store.BounceSoft, Status: "4.2.2", Reason: "mailbox full", Source: "dsn"}
		steps := []step{
			{b: hard, want: store.BounceResult{Matched: true, SubscriberID: 1, Suppressed: true, Status: "bounced"}},
			{b: soft, want: store.BounceResult{Matched: true, SubscriberID: 2, Status: "active", SoftCount: 1}},
			// 31 days on, the first soft bounce has left the window.
			{b: soft, after: 31 * 24 * time.Hour, want: store.BounceResult{Matched: true, SubscriberID: 2, Status: "active", SoftCount: 1}},
			{b: soft, after: time.Hour, want: store.BounceResult{Matched: true, SubscriberID: 2, Status: "active", SoftCount: 2}},
			{b: soft, after: time.Hour, want: store.BounceResult{Matched: true, SubscriberID: 2, Suppressed: true, Status: "bounced", SoftCount: 3}},
			{b: store.Bounce{Email: "p2@example.com", Type: store.BounceComplaint, Source: "arf"},
				want: store.BounceResult{Matched: true, SubscriberID: 3, Suppressed: true, Status: "complained"}},
			// A complaint outranks a bounce; a bounce does not undo a complaint.
			{b: store.Bounce{Email: "p0@example.com", Type: store.BounceComplaint, Source: "webhook"},
				want: store.BounceResult{Matched: true, SubscriberID: 1, Suppressed: true, Status: "complained"}},
			{b: store.Bounce{Email: "p2@example.com", Type: store.BounceHard, Source: "webhook"},
				want: store.BounceResult{Matched: true, SubscriberID: 3, Suppressed: true, Status: "complained"}},
			{b: store.Bounce{Email: "nobody@example.com", Type: store.BounceHard, Source: "dsn"}},
			{b: store.Bounce{Email: "not an address", Type: store.BounceHard, Source: "dsn"}},
		}
		for i, s := range steps {
			now = now.Add(s.after)
			got, err := db.RecordBounce(ctx, s.b)
			must(t, err)
			if d := cmp.Diff(s.want, got); d != "" {
				t.Fatalf("step %d (%s %s): (-want +got)\n%s", i, s.b.Type, s.b.Email, d)
			}
		}
		if _, err := db.RecordBounce(ctx, store.Bounce{Email: "p3@example.com", Type: "bogus"}); err == nil {
			t.Error("a bounce of type bogus was taken")
		}
		sum, err := db.Bounces(ctx, 3)
		must(t, err)
		// The first hard bounce and soft bounce are over 30 days old.
		if d := cmp.Diff(map[string]int64{"soft": 3, "complaint": 2, "hard": 1}, sum.Recent); d != "" {
			t.Errorf("recent bounces (-want +got):\n%s", d)
		}
		if len(sum.Latest) != 3 || sum.Latest[0].Email != "p2@example.com" || sum.Latest[0].Type != "hard" {
			t.Errorf("latest bounces: %+v", sum.Latest)
		}
		el, err := db.Eligible(ctx, "posts", []int64{1, 2, 3, 4})
		must(t, err)
		if d := cmp.Diff(map[int64]string{4: ""}, el); d != "" {
			t.Errorf("eligible after bounces (-want +got):\n%s", d)
		}
	})
}

// A bounce naming its delivery finds the subscriber it was sent to, even
// when the report's address is another (a forwarder's).
func TestRecordBounceByDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBatch(t, db, 2)
		ds, err := db.Deliveries(ctx, b.Kind, b.SourceID)
		must(t, err)
		got, err := db.RecordBounce(ctx, store.Bounce{Email: "forwarded@elsewhere.example", Type: store.BounceHard,
			DeliveryID: ds[1].ID, Source: "dsn"})
		must(t, err)
		if !got.Matched || got.SubscriberID != 2 || got.Status != "bounced" {
			t.Fatalf("bounce by delivery: %+v, want subscriber 2 bounced", got)
		}
		// The Message-ID a report returns finds the row that recorded it; a
		// forged one of the same shape finds nothing.
		c, err := db.Claim(ctx, b, "w", time.Now().Add(time.Minute))
		must(t, err)
		id := fmt.Sprintf("<d%d.post1.inst@therapist.example>", c[0].ID)
		_, err = db.Record(ctx, "w", store.Outcome{ID: c[0].ID, State: store.DeliverySent, MessageID: id})
		must(t, err)
		for _, tc := range []struct {
			messageID string
			matched   bool
		}{{id, true}, {fmt.Sprintf("<d%d.post1.forged@elsewhere.example>", c[0].ID), false}, {"<CAF=x@mail.gmail.com>", false}} {
			got, err := db.RecordBounce(ctx, store.Bounce{Email: "forwarded@elsewhere.example", Type: store.BounceSoft,
				MessageID: tc.messageID, Source: "dsn"})
			must(t, err)
			if got.Matched != tc.matched || (tc.matched && got.SubscriberID != 1) {
				t.Errorf("bounce of %s: %+v, want matched %v (subscriber 1)", tc.messageID, got, tc.matched)
			}
		}
	})
}

// A permanent SMTP failure is stored as a hard bounce from the smtp door,
// on both engines (SQLite by the journal's fold). One that says the
// mailbox does not exist (5.1.x) suppresses at once; one that refuses the
// message (5.3.4, too big) is counted, as the spine always did.
func TestSMTPBounceIsStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		addSubscribers(t, db, 1, store.StatusActive, "posts")
		sendFailed(t, db, 1, "552 5.3.4 <%s>: message size exceeds fixed limit")
		s, err := db.SubscriberByEmail(ctx, "p0@example.com")
		must(t, err)
		if s.Status != store.StatusActive {
			t.Errorf("one 5.3.4 made them %s; the spine's count is %d", s.Status, store.BounceLimit)
		}
		sendFailed(t, db, 2, "550 5.1.1 <%s>: no such user")
		sum, err := db.Bounces(ctx, 5)
		must(t, err)
		if len(sum.Latest) != 2 || sum.Latest[0].Source != "smtp" || sum.Latest[0].Type != "hard" ||
			sum.Latest[0].Reason != "550 5.1.1 <P0@EXAMPLE.COM>: no such user" || sum.Recent["hard"] != 2 {
			t.Fatalf("bounces after an SMTP 552 and 550: %+v", sum)
		}
		s, err = db.SubscriberByEmail(ctx, "p0@example.com")
		must(t, err)
		if s.Status != store.StatusBounced {
			t.Errorf("a 5.1.1 left them %s, want bounced at once", s.Status)
		}
	})
}
