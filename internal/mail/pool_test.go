package mail

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

const envelopeFrom = "bounces@stillpoint.example"

func openPool(t *testing.T, url string, conns int) *Pool {
	t.Helper()
	s, err := Open(context.Background(), Options{URL: url, TLS: TLSNone, Connections: conns, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.(*Pool)
}

func prepared(t testing.TB) *Prepared {
	t.Helper()
	p, err := Prepare(testContent(), []string{phUnsub, phPrefs})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return p
}

func recipient(i int) Recipient {
	return Recipient{
		Address: fmt.Sprintf("person%d@example.com", i), Name: fmt.Sprintf("Person %d", i),
		MessageID: fmt.Sprintf("d%d.p1", i),
		Values:    []string{fmt.Sprintf("%0*d", len(phUnsub), i), fmt.Sprintf("%0*d", len(phPrefs), i)},
	}
}

func TestPoolDeliversEachMessageOnceOverFewConnections(t *testing.T) {
	srv := mailtest.NewServer(t)
	pool := openPool(t, srv.URL, 4)
	msg := prepared(t)
	const n = 500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				r := recipient(i)
				if err := pool.Send(context.Background(), envelopeFrom, r.Address, msg, r); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Send: %v", err)
	}
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		id := m.Header.Get("Message-ID")
		seen[id]++
		var i int
		if _, err := fmt.Sscanf(m.To[0], "person%d@example.com", &i); err != nil || id != fmt.Sprintf("<d%d.p1@stillpoint.example>", i) {
			t.Errorf("message %s went to %s", id, m.To[0])
		}
		if m.From != envelopeFrom {
			t.Errorf("envelope from = %q", m.From)
		}
	}
	if len(seen) != n || srv.Count() != n {
		t.Errorf("got %d distinct messages of %d accepted, want %d", len(seen), srv.Count(), n)
	}
	if srv.Sessions() > 4 || pool.Dials() > 4 {
		t.Errorf("sessions = %d, dials = %d; want at most 4 connections", srv.Sessions(), pool.Dials())
	}
}

// refusals runs f against a pool whose connection pipelines and against one
// that sends command by command.
func refusals(t *testing.T, f func(t *testing.T, srv *mailtest.Server, pool *Pool)) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			srv := mailtest.NewServer(t)
			pool := openPool(t, srv.URL, 1)
			cn := <-pool.slots
			if err := pool.dial(context.Background(), cn); err != nil {
				t.Fatal(err)
			}
			cn.pipelining = pipelining
			pool.slots <- cn
			f(t, srv, pool)
			if pool.Dials() != 1 {
				t.Errorf("dials = %d, want the connection kept after refusals", pool.Dials())
			}
		})
	}
}

func TestPoolRefusals(t *testing.T) {
	refusals(t, func(t *testing.T, srv *mailtest.Server, pool *Pool) {
		srv.SetRcptHook(func(to string) *smtp.SMTPError {
			switch to {
			case "busy@example.com":
				return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy"}
			case "gone@example.com":
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}
			return nil
		})
		srv.SetDataHook(func(to []string) *smtp.SMTPError {
			if to[0] == "spam@example.com" {
				return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected"}
			}
			return nil
		})
		tests := []struct {
			to        string
			code      int
			enhanced  string
			stage     string
			permanent bool
		}{
			{"busy@example.com", 450, "4.2.1", "rcpt", false},
			{"gone@example.com", 550, "5.1.1", "rcpt", true},
			{"spam@example.com", 554, "5.7.1", "data", true},
		}
		msg := prepared(t)
		for _, tt := range tests {
			r := recipient(1)
			r.Address = tt.to
			err := pool.Send(context.Background(), envelopeFrom, tt.to, msg, r)
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("%s: err = %v, want *SendError", tt.to, err)
			}
			if se.Code != tt.code || se.Enhanced != tt.enhanced || se.Stage != tt.stage || se.Permanent() != tt.permanent {
				t.Errorf("%s: got code %d enhanced %q stage %q permanent %v, want %d %q %q %v",
					tt.to, se.Code, se.Enhanced, se.Stage, se.Permanent(), tt.code, tt.enhanced, tt.stage, tt.permanent)
			}
			good := recipient(2)
			if err := pool.Send(context.Background(), envelopeFrom, good.Address, msg, good); err != nil {
				t.Errorf("send after %s: %v", tt.to, err)
			}
		}
		if srv.Count() != len(tests) {
			t.Errorf("accepted %d messages, want %d", srv.Count(), len(tests))
		}
	})
}

func TestPoolSurvivesServerRestart(t *testing.T) {
	srv := mailtest.NewServer(t)
	pool := openPool(t, srv.URL, 2)
	msg := prepared(t)
	r := recipient(1)
	ctx := context.Background()
	if err := pool.Send(ctx, envelopeFrom, r.Address, msg, r); err != nil {
		t.Fatalf("first send: %v", err)
	}
	srv.Stop()
	err := pool.Send(ctx, envelopeFrom, r.Address, msg, r)
	var se *SendError
	if !errors.As(err, &se) || !se.Temporary || se.Code != 0 {
		t.Fatalf("send while down: err = %v, want a temporary network error", err)
	}
	srv.Start()
	for i := range 10 {
		r := recipient(i)
		if err := pool.Send(ctx, envelopeFrom, r.Address, msg, r); err != nil {
			t.Fatalf("send %d after restart: %v", i, err)
		}
	}
	if srv.Count() != 11 {
		t.Errorf("accepted %d, want 11", srv.Count())
	}
	if pool.Dials() < 2 {
		t.Errorf("dials = %d, want a redial after the restart", pool.Dials())
	}
}

func TestPoolHonoursContext(t *testing.T) {
	srv := mailtest.NewServer(t)
	pool := openPool(t, srv.URL, 1)
	msg := prepared(t)
	r := recipient(1)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pool.Send(cancelled, envelopeFrom, r.Address, msg, r); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}

	// Cancelled before the message went out. (Once its final dot has, the
	// send waits for the server's reply: TestPoolFaultCancelledAwaitingFinalReply.)
	reached, release := make(chan struct{}, 1), make(chan struct{})
	srv.SetRcptHook(func(string) *smtp.SMTPError { reached <- struct{}{}; <-release; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- pool.Send(ctx, envelopeFrom, r.Address, msg, r) }()
	<-reached // the send is at the server, waiting for the reply to RCPT
	cancel()
	select {
	case err := <-done:
		var se *SendError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &se) || !se.Temporary {
			t.Errorf("cancelled mid-send: err = %v, want a temporary error wrapping context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send did not return after cancel")
	}
	close(release)
	srv.SetRcptHook(nil)
	if err := pool.Send(context.Background(), envelopeFrom, r.Address, msg, r); err != nil {
		t.Errorf("send after cancel: %v", err)
	}
}

func TestPoolAuthFromURL(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.SetAuth("practice", "s3cret/+")
	msg := prepared(t)
	r := recipient(1)
	good := openPool(t, "smtp://practice:s3cret%2F+@"+srv.Addr, 1)
	if err := good.Send(context.Background(), envelopeFrom, r.Address, msg, r); err != nil {
		t.Errorf("send with credentials: %v", err)
	}
	bad := openPool(t, "smtp://practice:wrong@"+srv.Addr, 1)
	err := bad.Send(context.Background(), envelopeFrom, r.Address, msg, r)
	var se *SendError
	if !errors.As(err, &se) || se.Stage != "connect" || !se.Temporary {
		t.Errorf("wrong password: err = %v, want a temporary connect error", err)
	}
}

func TestPoolMandatoryTLSRefusesPlaintextServer(t *testing.T) {
	srv := mailtest.NewServer(t)
	s, err := Open(context.Background(), Options{URL: srv.URL, TLS: TLSMandatory})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := recipient(1)
	err = s.Send(context.Background(), envelopeFrom, r.Address, prepared(t), r)
	var se *SendError
	if !errors.As(err, &se) || se.Stage != "connect" {
		t.Errorf("err = %v, want a connect error", err)
	}
	if srv.Count() != 0 {
		t.Error("a message went out without TLS")
	}
}

func TestPoolCloseWaitsAndRefusesLaterSends(t *testing.T) {
	srv := mailtest.NewServer(t)
	pool := openPool(t, srv.URL, 2)
	msg := prepared(t)
	r := recipient(1)
	if err := pool.Send(context.Background(), envelopeFrom, r.Address, msg, r); err != nil {
		t.Fatal(err)
	}
	if err := pool.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := pool.Send(context.Background(), envelopeFrom, r.Address, msg, r); !errors.Is(err, ErrClosed) {
		t.Errorf("send after close: err = %v, want ErrClosed", err)
	}
}

// TestPoolRedialsDroppedIdleConnection: a server that closed an idle
// connection must not cost the next message.
func TestPoolRedialsDroppedIdleConnection(t *testing.T) {
	srv := mailtest.NewServer(t)
	pool := openPool(t, srv.URL, 1)
	msg := prepared(t)
	ctx := context.Background()
	for i := range 3 {
		r := recipient(i)
		if err := pool.Send(ctx, envelopeFrom, r.Address, msg, r); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		srv.Stop() // drops the open connection
		srv.Start()
	}
	if srv.Count() != 3 || pool.Dials() != 3 {
		t.Errorf("accepted %d with %d dials, want 3 and 3", srv.Count(), pool.Dials())
	}
}

// TestPoolGate: the gate runs once the server has taken the envelope and
// before it can have the message; a gate that refuses costs the message,
// not the connection's next one, and its error comes back as it is.
func TestPoolGate(t *testing.T) {
	srv := mailtest.NewServer(t)
	pool := openPool(t, srv.URL, 1)
	msg := prepared(t)
	ctx := context.Background()
	stop := errors.New("lease lost")

	calls, atGate := 0, -1
	r := recipient(1)
	reply, err := pool.SendReply(ctx, envelopeFrom, r.Address, msg, r, func(context.Context) error {
		calls++
		atGate = srv.Count()
		return nil
	})
	if err != nil || calls != 1 || atGate != 0 || srv.Count() != 1 || reply == "" {
		t.Fatalf("open gate: err %v, %d calls, %d messages at the gate, %d after, reply %q; want nil, 1, 0, 1, a reply",
			err, calls, atGate, srv.Count(), reply)
	}

	r = recipient(2)
	_, err = pool.SendReply(ctx, envelopeFrom, r.Address, msg, r, func(context.Context) error { return stop })
	if err != stop {
		t.Fatalf("refused gate: err = %v, want the gate's own error", err)
	}
	var se *SendError
	if errors.As(err, &se) {
		t.Fatal("a gate's refusal came back as a delivery failure")
	}

	r = recipient(3)
	if err := pool.Send(ctx, envelopeFrom, r.Address, msg, r); err != nil {
		t.Fatalf("the send after a refused gate: %v", err)
	}
	got := srv.Messages()
	if len(got) != 2 || got[0].To[0] != recipient(1).Address || got[1].To[0] != recipient(3).Address {
		t.Fatalf("server has %d messages %+v; want those for persons 1 and 3", len(got), got)
	}
}
