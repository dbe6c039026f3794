package worker

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/redistest"
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

// signupsInOneSecond signs the addresses up within one second of db's
// clock c, and returns their shared batch.
func signupsInOneSecond(t *testing.T, db *store.DB, c *fakeClock, emails ...string) store.BatchRef {
	t.Helper()
	var b store.BatchRef
	for _, email := range emails {
		r, err := db.RequestSignup(context.Background(), store.SignupRequest{Email: email, Source: "form"})
		if err != nil || r.Outcome != store.SignupConfirm {
			t.Fatalf("sign-up of %s = %+v, %v", email, r, err)
		}
		if b.Batch != 0 && r.Batch != b {
			t.Fatalf("%s is in batch %+v, not %+v", email, r.Batch, b)
		}
		b = r.Batch
		c.Add(100 * time.Millisecond)
	}
	return b
}

// confirmTokens returns, per recipient, the subscriber the confirmation
// link of each message verifies as; a recipient with two messages fails
// the test.
func confirmTokens(t *testing.T, w *Worker, srv *mailtest.Server) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, m := range srv.Messages() {
		if len(m.To) != 1 {
			t.Fatalf("a message to %v", m.To)
		}
		to := m.To[0]
		if _, dup := out[to]; dup {
			t.Fatalf("%s got two confirmations", to)
		}
		link := confirmLink.FindStringSubmatch(mailtest.Parse(t, m.Data).TextPart)
		if link == nil {
			t.Fatalf("no confirmation link in the message to %s", to)
		}
		id, err := w.Links.Verify(links.Confirm, link[1])
		if err != nil {
			t.Fatalf("the token sent to %s: %v", to, err)
		}
		out[to] = id
	}
	return out
}

// subscriberIDs maps each address to its subscriber's ID.
func subscriberIDs(t *testing.T, db *store.DB, emails ...string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, e := range emails {
		s, err := db.SubscriberByEmail(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		out[e] = s.ID
	}
	return out
}

// sharedBatchRig is a worker on db sending to a real SMTP server, with
// db's clock stopped just after the start of a second.
func sharedBatchRig(t *testing.T, db *store.DB) (*Worker, *mailtest.Server, *fakeClock) {
	t.Helper()
	c := &fakeClock{now: time.UnixMilli(1_800_000_000_100).UTC()}
	db.Now = c.Now
	srv := mailtest.NewServer(t)
	return smtpWorker(t, db, srv.URL, 1, mail.Options{}), srv, c
}

// wantStates fails the test unless batch b's rows, by recipient, are in
// the states want says.
func wantStates(t *testing.T, db *store.DB, b store.BatchRef, want map[string]string) {
	t.Helper()
	rows, err := db.Deliveries(context.Background(), b.Kind, b.SourceID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Recipient] = r.State
	}
	if !cmp.Equal(got, want) {
		t.Fatalf("ledger = %v, want %v", got, want)
	}
}

// Sign-ups of one second share one batch, sent by one task: each person
// gets one confirmation, carrying a token of their own, however often the
// task runs; one who left before the send is suppressed and gets nothing.
func TestASharedSignupBatchSendsEachTheirOwnTokenOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, srv, c := sharedBatchRig(t, db)
		b := signupsInOneSecond(t, db, c, "ana@example.org", "ben@example.org", "cy@example.org")
		ids := subscriberIDs(t, db, "ana@example.org", "ben@example.org", "cy@example.org")
		if err := db.Unsubscribe(ctx, ids["cy@example.org"]); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := w.handleDeliver(ctx, deliverTask(b)); err != nil {
				t.Fatal(err)
			}
		}
		delete(ids, "cy@example.org")
		if got := confirmTokens(t, w, srv); !cmp.Equal(got, ids) {
			t.Fatalf("confirmations (recipient: token's subscriber) = %v, want %v", got, ids)
		}
		wantStates(t, db, b, map[string]string{"ana@example.org": store.DeliverySent,
			"ben@example.org": store.DeliverySent, "cy@example.org": store.DeliverySuppressed})
	})
}

// A sender that dies in the middle of a shared batch, after one
// confirmation was sent and recorded, leaves the rest to whoever takes the
// batch once its lease runs out: the one already mailed is not mailed
// again, the other gets theirs once.
func TestASharedSignupBatchCarriesOnAfterACrash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w, srv, c := sharedBatchRig(t, db)
		b := signupsInOneSecond(t, db, c, "ana@example.org", "ben@example.org")
		rows, err := db.Claim(ctx, b, "dead-sender", c.Now().Add(time.Minute))
		if err != nil || len(rows) != 2 {
			t.Fatalf("claim = %+v, %v; want both rows", rows, err)
		}
		if held, err := db.Record(ctx, "dead-sender", store.Outcome{ID: rows[0].ID, State: store.DeliverySent, Reply: "250 ok"}); err != nil || !held {
			t.Fatalf("record = %v, %v", held, err)
		}
		// It dies here, holding the lease; the task runs again meanwhile
		// and finds the batch taken.
		if err := w.handleDeliver(ctx, deliverTask(b)); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("%d messages sent while the dead sender's lease held", n)
		}
		c.Add(2 * time.Minute)
		if err := w.handleDeliver(ctx, deliverTask(b)); err != nil {
			t.Fatal(err)
		}
		ids := subscriberIDs(t, db, "ben@example.org")
		if got := confirmTokens(t, w, srv); !cmp.Equal(got, ids) {
			t.Fatalf("confirmations after the crash = %v, want only %v", got, ids)
		}
		wantStates(t, db, b, map[string]string{"ana@example.org": store.DeliverySent, "ben@example.org": store.DeliverySent})
	})
}

// The requests of a second enqueue the one task of its batch, scheduled
// just after the second is over; a request whose transaction ended later
// than that, when the task may have run already, enqueues a round of its
// own to run at once.
func TestASignupBatchIsSentOnceItsSecondIsOver(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	c := &fakeClock{now: time.Now().Truncate(time.Second).Add(100 * time.Millisecond)}
	db.Now = c.Now
	w := testWorker(t, db, testQueue(t), "a", &sendLog{}, nil)
	insp := asynq.NewInspectorFromRedisClient(redistest.Client(t, redistest.Worker))
	b := signupsInOneSecond(t, db, c, "ana@example.org")
	for range 3 { // three requests of the same second
		if err := w.EnqueueDelivery(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	end, _ := store.SignupBatchEnd(b)
	scheduled, err := insp.ListScheduledTasks(QueueMail)
	if err != nil {
		t.Fatal(err)
	}
	if len(scheduled) != 1 || !scheduled[0].NextProcessAt.Equal(end.Add(time.Second)) {
		t.Fatalf("scheduled = %+v, want one task at %v", scheduled, end.Add(time.Second))
	}
	// The next second's requests (the worker asks Redis once a window, not
	// once a request) get the next second's task.
	next := b
	next.SourceID++
	if err := w.EnqueueDelivery(ctx, next); err != nil {
		t.Fatal(err)
	}
	if all, err := insp.ListScheduledTasks(QueueMail); err != nil || len(all) != 2 {
		t.Fatalf("scheduled after the next second's request = %+v (%v), want two tasks", all, err)
	}
	c.Add(end.Add(600 * time.Millisecond).Sub(c.Now()))
	if err := w.EnqueueDelivery(ctx, b); err != nil {
		t.Fatal(err)
	}
	pending, err := insp.ListPendingTasks(QueueMail)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].ID == scheduled[0].ID {
		t.Fatalf("pending after a late commit = %+v, want a round of its own", pending)
	}
}
