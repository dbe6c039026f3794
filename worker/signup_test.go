package worker

import (
	"context"
	"regexp"
	"testing"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

var confirmLink = regexp.MustCompile(`https://mail\.example/confirm/([A-Za-z0-9_-]{40})`)

// A sign-up's confirmation goes through the ledger and the real pool like
// a post: once, to that address only, without the name typed into the form,
// without list headers, and carrying a confirmation token of the person's
// own that the signer accepts.
func TestConfirmationIsSentOnceThroughTheLedger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv := mailtest.NewServer(t)
		w := smtpWorker(t, db, srv.URL, 1, mail.Options{})
		r, err := db.RequestSignup(ctx, store.SignupRequest{Email: "ana@example.org", Name: "Click http://evil.example", Source: "form"})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // a task run twice sends once
			if err := w.handleDeliver(ctx, deliverTask(r.Batch)); err != nil {
				t.Fatal(err)
			}
		}
		msgs := srv.Messages()
		if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "ana@example.org" {
			t.Fatalf("messages = %d (%v), want one to ana@example.org", len(msgs), msgs)
		}
		h := msgs[0].Header
		if h.Get("List-Unsubscribe") != "" || h.Get("List-Unsubscribe-Post") != "" || h.Get("List-Id") != "" {
			t.Errorf("the confirmation carries list headers: %v", h)
		}
		if to := h.Get("To"); to != "<ana@example.org>" && to != "ana@example.org" {
			t.Errorf("To = %q, want the bare address: the name came from a form anyone may fill in", to)
		}
		p := mailtest.Parse(t, msgs[0].Data)
		m := confirmLink.FindStringSubmatch(p.TextPart)
		if m == nil || !confirmLink.MatchString(p.HTMLPart) {
			t.Fatalf("no confirmation link in both parts:\n%s", p.TextPart)
		}
		s, err := db.SubscriberByEmail(ctx, "ana@example.org")
		if err != nil {
			t.Fatal(err)
		}
		id, err := w.Links.Verify(links.Confirm, m[1])
		if err != nil || id != s.ID {
			t.Fatalf("token verifies as %d, %v; want subscriber %d", id, err, s.ID)
		}
		rows, err := db.Deliveries(ctx, store.KindConfirm, r.Batch.SourceID)
		if err != nil || len(rows) != 1 || rows[0].State != store.DeliverySent {
			t.Fatalf("ledger = %+v, %v; want one sent row", rows, err)
		}
	})
}

// Whoever leaves between the request and the send is not mailed: a
// confirmation still queued for someone who has since unsubscribed, and an
// "already subscribed" email for someone who has since left, are
// suppressed at send time.
func TestSignupEmailsAreCheckedAtSendTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv := mailtest.NewServer(t)
		w := smtpWorker(t, db, srv.URL, 1, mail.Options{})
		pending, err := db.RequestSignup(ctx, store.SignupRequest{Email: "ben@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "cy@example.org", Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		already, err := db.RequestSignup(ctx, store.SignupRequest{Email: "cy@example.org"})
		if err != nil || already.Outcome != store.SignupAlready {
			t.Fatalf("request of an active person = %+v, %v", already, err)
		}
		ben, err := db.SubscriberByEmail(ctx, "ben@example.org")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{ben.ID, res.ID} {
			if err := db.Unsubscribe(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		for _, b := range []store.BatchRef{pending.Batch, already.Batch} {
			if err := w.handleDeliver(ctx, deliverTask(b)); err != nil {
				t.Fatal(err)
			}
			rows, err := db.Deliveries(ctx, b.Kind, b.SourceID)
			if err != nil || len(rows) != 1 || rows[0].State != store.DeliverySuppressed {
				t.Errorf("%s: ledger = %+v, %v; want suppressed", b.Kind, rows, err)
			}
		}
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("%d messages reached people who had left", n)
		}
	})
}

var preferencesLink = regexp.MustCompile(`https://mail\.example/preferences/([A-Za-z0-9_-]{40})`)

// Someone already subscribed who fills in the form again gets one email
// saying so, with a link to their own preferences and no list headers.
func TestAlreadySubscribedEmailLinksToTheirPreferences(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	srv := mailtest.NewServer(t)
	w := smtpWorker(t, db, srv.URL, 1, mail.Options{})
	res, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "di@example.org", Name: "Di", Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.RequestSignup(ctx, store.SignupRequest{Email: "DI@example.org", Name: "Someone Else"})
	if err != nil || r.Outcome != store.SignupAlready {
		t.Fatalf("request = %+v, %v; want already", r, err)
	}
	if err := w.handleDeliver(ctx, deliverTask(r.Batch)); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].Header.Get("List-Unsubscribe") != "" {
		t.Fatalf("messages = %v, want one without List-Unsubscribe", msgs)
	}
	if s := msgs[0].Header.Get("Subject"); s != "You are already subscribed" {
		t.Errorf("subject = %q", s)
	}
	p := mailtest.Parse(t, msgs[0].Data)
	m := preferencesLink.FindStringSubmatch(p.TextPart)
	if m == nil {
		t.Fatalf("no preferences link:\n%s", p.TextPart)
	}
	if id, err := w.Links.Verify(links.Preferences, m[1]); err != nil || id != res.ID {
		t.Fatalf("preferences token = %d, %v; want subscriber %d", id, err, res.ID)
	}
	s, err := db.SubscriberByEmail(ctx, "di@example.org")
	if err != nil || s.Name != "Di" {
		t.Fatalf("the form changed an active subscriber: %+v, %v", s, err)
	}
}
