package worker

import (
	"context"
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
