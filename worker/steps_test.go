package worker

import (
	"context"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// Redis loses everything mid-sequence (FLUSHALL), and an inquiry was saved
// whose enqueue was lost: the reconciler enqueues the steps still to come
// and the unprocessed inquiry, and every step arrives once, none skipped.
func TestFlushAllMidSequenceContinues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newInquiryRig(t, db)
		r.start(t)
		r.inquire(t, "cy@example.org", "Hello.", true)
		waitFor(t, "the acknowledgement", func() bool { return len(r.to(t, "cy@example.org")) == 1 })
		if err := r.rdb.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		r.inquire(t, "dee@example.org", "Hello too.", false) // its enqueue lost
		n, err := r.w.Reconcile(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if n < 3 { // cy's steps 2 and 3, dee's inquiry
			t.Errorf("reconcile enqueued %d tasks, want at least 3", n)
		}
		want := "Thanks for reaching out|Something we often hear|What a first session looks like"
		waitFor(t, "both sequences", func() bool {
			return len(r.to(t, "cy@example.org")) == 3 && len(r.to(t, "dee@example.org")) == 3 && len(r.to(t, notifyTo)) == 2
		})
		waitFor(t, "no step open", func() bool {
			open, err := db.OpenSteps(ctx)
			return err == nil && len(open) == 0
		})
		if n, err := r.w.Reconcile(ctx, false); err != nil || n != 0 {
			t.Errorf("a second reconcile enqueued %d, %v; want nothing", n, err)
		}
		for _, who := range []string{"cy@example.org", "dee@example.org"} {
			if got := strings.Join(r.subjects(t, who), "|"); got != want {
				t.Errorf("%s got %q, want each step once: %q", who, got, want)
			}
		}
	})
}

// Crisis language: the notification's subject starts with URGENT:, and the
// acknowledgement still carries 988.
func TestCrisisInquiryIsUrgent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newInquiryRig(t, db)
		r.start(t)
		s := r.inquire(t, "eve@example.org", "Some nights I feel there is no reason to live.", true)
		waitFor(t, "the notification and acknowledgement", func() bool {
			return len(r.to(t, notifyTo)) == 1 && len(r.to(t, "eve@example.org")) == 1
		})
		if got := r.to(t, notifyTo)[0].Header.Get("Subject"); !strings.HasPrefix(got, "URGENT:") {
			t.Errorf("notification subject = %q, want URGENT: first", got)
		}
		checkStepEmail(t, r, r.to(t, "eve@example.org")[0], "Thanks for reaching out", s.ContactID)
	})
}

// A notification is sent only over verified TLS: on a transport that may
// not carry it, its ledger row fails with the reason, and the person's
// acknowledgement goes out all the same.
func TestNotificationNeedsVerifiedTLS(t *testing.T) {
	for _, c := range []struct {
		url, tls string
		ok       bool
	}{
		{"", "", true}, // the outbox
		{"smtp://mail.example:587", "mandatory", true},
		{"smtp://mail.example:587", "", true},
		{"smtps://mail.example:465", "opportunistic", true},
		{"smtp://127.0.0.1:2525", "none", true},
		{"smtp://localhost:2525", "none", true},
		{"smtp://mail.example:587", "opportunistic", false},
		{"smtp://mail.example:25", "none", false},
	} {
		if got := NotifyTransport(c.url, c.tls); (got == "") != c.ok {
			t.Errorf("NotifyTransport(%q, %q) = %q, want allowed %v", c.url, c.tls, got, c.ok)
		}
	}
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	r := newInquiryRig(t, db)
	r.w.Inquiries.NotifyRefused = NotifyTransport("smtp://mail.example:587", "opportunistic")
	r.start(t)
	s := r.inquire(t, "fay@example.org", "Hello.", true)
	waitFor(t, "the acknowledgement", func() bool { return len(r.to(t, "fay@example.org")) == 1 })
	waitFor(t, "the notification's outcome", func() bool {
		rows, err := db.Deliveries(ctx, store.KindInquiryNotify, s.InquiryID)
		return err == nil && len(rows) == 1 && rows[0].State != store.DeliveryQueued
	})
	rows, _ := db.Deliveries(ctx, store.KindInquiryNotify, s.InquiryID)
	if rows[0].State != store.DeliveryFailed || !strings.Contains(rows[0].LastReply, "verified TLS") {
		t.Errorf("notification row = %+v, want failed saying why", rows[0])
	}
	if len(r.to(t, notifyTo)) != 0 {
		t.Error("the notification was sent over an unverified transport")
	}
}
