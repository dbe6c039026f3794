package worker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// These tests send through the real pool to a real SMTP server over TCP.

// smtpWorker returns a worker on db whose mail goes through a pool of
// conns connections to srvURL.
func smtpWorker(t *testing.T, db *store.DB, srvURL string, conns int, o mail.Options) *Worker {
	t.Helper()
	w := testWorker(t, db, testQueue(t), "smtp", &sendLog{}, nil)
	o.URL, o.TLS, o.Connections = srvURL, mail.TLSNone, conns
	pool, err := mail.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	w.Mail = pool
	return w
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// perRecipient counts the messages srv accepted for each recipient.
func perRecipient(srv *mailtest.Server) map[string]int {
	out := map[string]int{}
	for _, m := range srv.Messages() {
		for _, to := range m.To {
			out[to]++
		}
	}
	return out
}

// A server that works but drops a share of its connections (a 421 every
// fourth message) is not an outage that grows: each round sends until the
// next drop and then waits RetryBase, however long the rounds have gone on,
// because the messages it took in between show that it works.
func TestOutageBackoffResetsAfterASuccess(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	clock := &fakeClock{now: time.Now()}
	db.Now = clock.Now
	srv := mailtest.NewServer(t)
	var mu sync.Mutex
	seen := 0
	srv.SetDataHook(func([]string) *smtp.SMTPError {
		mu.Lock()
		defer mu.Unlock()
		if seen++; seen%4 == 0 {
			return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Connection dropped"}
		}
		return nil
	})
	b := batchOf20(t, db)
	w := smtpWorker(t, db, srv.URL, 1, mail.Options{})
	w.Options.RetryBase, w.Options.RetryMax = time.Minute, 6*time.Hour
	ctx := context.Background()
	for round := 1; srv.Count() < 20; round++ {
		if round > 20 {
			t.Fatalf("%d of 20 sent after 20 rounds", srv.Count())
		}
		if err := w.handleDeliver(ctx, deliverTask(b)); err != nil {
			t.Fatal(err)
		}
		due, ok, err := db.BatchDue(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if wait := due.Sub(clock.Now()).Round(time.Second); wait != w.Options.RetryBase {
			t.Fatalf("round %d: the rest wait %v, want RetryBase (%v): the server took messages this round", round, wait, w.Options.RetryBase)
		}
		clock.Add(10 * time.Minute)
	}
	for to, n := range perRecipient(srv) {
		if n != 1 {
			t.Errorf("%s got %d messages", to, n)
		}
	}
}

// logRecords keeps the messages logged through it.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// count is how many times msg was logged.
func (l *logRecords) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// A mail server that cannot be used is logged for what failed: a TLS
// mismatch or a refused login is our setup, not an unreachable server.
func TestOutageLogSaysWhatFailed(t *testing.T) {
	for _, tt := range []struct {
		err  *mail.SendError
		want string
	}{
		{&mail.SendError{Stage: "connect", Cause: mail.CauseTLS, Temporary: true, Err: errors.New("no STARTTLS")}, "mail_tls_failed"},
		{&mail.SendError{Stage: "connect", Code: 535, Cause: mail.CauseAuth, Temporary: true, Err: errors.New("535")}, "mail_auth_failed"},
		{&mail.SendError{Stage: "mail", Code: 550, Temporary: true, Err: errors.New("550")}, "mail_server_refusing"},
		{&mail.SendError{Stage: "connect", Temporary: true, Err: errors.New("connection refused")}, "mail_server_unreachable"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			db := storetest.Open(t, "sqlite")
			b := batchOf20(t, db)
			w := testWorker(t, db, testQueue(t), "a", &sendLog{}, nil)
			logs := &logRecords{}
			w.Log = slog.New(logs)
			w.Mail = &refusingSender{err: tt.err}
			if err := w.handleDeliver(context.Background(), deliverTask(b)); err != nil {
				t.Fatal(err)
			}
			if logs.count(tt.want) != 1 {
				t.Errorf("logged %v, want one %s", logs.msgs, tt.want)
			}
		})
	}
}

// runRounds runs the batch's rounds, moving the clock past each wait, until
// none of its rows is due; at most max rounds.
func runRounds(t *testing.T, w *Worker, clock *fakeClock, b store.BatchRef, max int) {
	t.Helper()
	ctx := context.Background()
	for range max {
		if err := w.handleDeliver(ctx, deliverTask(b)); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := w.DB.BatchDue(ctx, b); err != nil || !ok {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
		clock.Add(time.Hour)
	}
	t.Fatalf("rows still queued after %d rounds", max)
}

// The case: a server that answers the final dot later than the
// connect timeout (smtp.timeout) allows. Its answer is waited for (RFC
// 5321 gives it ten minutes), so the first person gets one message, not
// one a round, and everyone else gets theirs.
func TestServerSlowerThanTheConnectTimeoutSendsEachOnce(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	clock := &fakeClock{now: time.Now()}
	db.Now = clock.Now
	srv := mailtest.NewServer(t)
	const connect = 300 * time.Millisecond
	srv.SetDataHook(func(to []string) *smtp.SMTPError {
		if to[0] == "p0@example.com" {
			time.Sleep(3 * connect) // deciding, slowly
		}
		return nil
	})
	b := batchOf20(t, db)
	w := smtpWorker(t, db, srv.URL, 1, mail.Options{Timeout: connect})
	runRounds(t, w, clock, b, 5)
	got := perRecipient(srv)
	if len(got) != 20 || got["p0@example.com"] != 1 {
		t.Fatalf("%d people reached, p0 got %d; want 20 and 1", len(got), got["p0@example.com"])
	}
	rows, err := db.Deliveries(context.Background(), b.Kind, b.SourceID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.State != store.DeliverySent {
			t.Errorf("%s is %s, want sent", r.Recipient, r.State)
		}
	}
}

// A message whose final dot goes unanswered (past the data-end timeout)
// may have been delivered. It is sent again once; unanswered again, it is
// recorded unknown with the reason, never sent again, and status and the
// log say so. The rest of the batch is sent.
func TestUnansweredTwiceIsRecordedUnknown(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	clock := &fakeClock{now: time.Now()}
	db.Now = clock.Now
	srv := mailtest.NewServer(t)
	silent := make(chan struct{})
	t.Cleanup(func() { close(silent) }) // before the server stops
	var mu sync.Mutex
	reached := 0 // how often the server had p0's message
	srv.SetDataHook(func(to []string) *smtp.SMTPError {
		if to[0] == "p0@example.com" {
			mu.Lock()
			reached++
			mu.Unlock()
			<-silent
		}
		return nil
	})
	b := batchOf20(t, db)
	w := smtpWorker(t, db, srv.URL, 1, mail.Options{DataTimeout: 200 * time.Millisecond})
	logs := &logRecords{}
	w.Log = slog.New(logs)
	runRounds(t, w, clock, b, 6)
	mu.Lock()
	if reached != 2 {
		t.Errorf("the server had p0's message %d times, want 2", reached)
	}
	mu.Unlock()
	rows, err := db.Deliveries(context.Background(), b.Kind, b.SourceID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		want := store.DeliverySent
		if r.Recipient == "p0@example.com" {
			want = store.DeliveryUnknown
			if !strings.Contains(r.LastReply, "may have been delivered") {
				t.Errorf("p0's reply %q does not say why", r.LastReply)
			}
		}
		if r.State != want {
			t.Errorf("%s is %s, want %s", r.Recipient, r.State, want)
		}
	}
	c, err := db.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Deliveries[store.DeliveryUnknown] != 1 {
		t.Errorf("status counts %v, want 1 unknown", c.Deliveries)
	}
	if logs.count("mail_outcome_unknown") != 1 {
		t.Errorf("logged %v, want one mail_outcome_unknown", logs.msgs)
	}
}
