package mail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

// These tests fail an SMTP server at bad moments and check what the pool
// makes of it. How the worker then treats an error (worker/deliver.go): a
// permanent SendError fails the delivery and counts a bounce; a temporary
// one with a reply code retries that recipient later and counts an
// attempt; a temporary one without a code (Code 0: no reply, the
// connection failed) means the server cannot be reached, so the batch goes
// back untried and waits out the outage's backoff.

// patience bounds every wait for the pool in these tests: far beyond any
// timeout they give it, so a slow, shared machine does not fail them, and
// short enough that a pool which hangs fails rather than stalls the run.
const patience = time.Minute

func faultPool(t *testing.T, url string, conns int, timeout time.Duration) *Pool {
	t.Helper()
	s, err := Open(context.Background(), Options{URL: url, TLS: TLSNone, Connections: conns,
		Timeout: timeout, CommandTimeout: timeout, DataTimeout: timeout})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if !t.Failed() { // else a send may be stuck, and Close would wait for it
			_ = s.Close()
		}
	})
	return s.(*Pool)
}

// sendTo sends the test message to person i.
func sendTo(ctx context.Context, pool *Pool, i int) error {
	r := recipient(i)
	return pool.Send(ctx, envelopeFrom, r.Address, preparedOnce, r)
}

var preparedOnce = func() *Prepared {
	p, err := Prepare(testContent(), []string{phUnsub, phPrefs})
	if err != nil {
		panic(err)
	}
	return p
}()

// returns runs send, failing the test if it has not returned within patience.
func returns(t *testing.T, send func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- send() }()
	select {
	case err := <-done:
		return err
	case <-time.After(patience):
		t.Fatalf("Send has not returned after %v", patience)
		return nil
	}
}

// failure is what a failed send came to.
type failure struct {
	stage     string
	code      int
	temporary bool
}

// wantFailure checks that err is a *SendError matching want and returns it.
func wantFailure(t *testing.T, err error, want failure) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *SendError", err)
	}
	if got := (failure{se.Stage, se.Code, se.Temporary}); got != want {
		t.Fatalf("err = %v: got %+v, want %+v", err, got, want)
	}
	if se.Permanent() == se.Temporary {
		t.Fatalf("err = %v: Permanent() = %v contradicts Temporary", err, se.Permanent())
	}
	return se
}

// once makes faults that answer a the first time the server reaches at,
// and as usual after.
func once(at string, a action) func() func(cue) action {
	return func() func(cue) action {
		var fired atomic.Bool
		return func(c cue) action {
			if c.at == at && fired.CompareAndSwap(false, true) {
				return a
			}
			return action{}
		}
	}
}

// withoutPipelining makes fault's server stop offering PIPELINING.
func withoutPipelining(fault func(cue) action) func(cue) action {
	return func(c cue) action {
		if c.at == "ehlo" {
			return action{reply: "250-faults.local\r\n250 8BITMIME"}
		}
		return fault(c)
	}
}

// bothWays runs f against a server that offers PIPELINING and one that
// does not, each failing as a fresh fault from newFault says.
func bothWays(t *testing.T, newFault func() func(cue) action, f func(t *testing.T, srv *faultServer)) {
	t.Run("pipelining", func(t *testing.T) { f(t, newFaultServer(t, newFault())) })
	t.Run("command by command", func(t *testing.T) { f(t, newFaultServer(t, withoutPipelining(newFault()))) })
}

func TestPoolFaultNoGreeting(t *testing.T) {
	silentFirst := func(started chan<- struct{}) func(cue) action {
		return func(c cue) action {
			if c.at == "greeting" && c.conn == 1 {
				close(started)
				return action{stall: true}
			}
			return action{}
		}
	}
	t.Run("pool timeout", func(t *testing.T) {
		srv := newFaultServer(t, silentFirst(make(chan struct{})))
		pool := faultPool(t, srv.URL, 1, time.Second)
		err := returns(t, func() error { return sendTo(context.Background(), pool, 1) })
		wantFailure(t, err, failure{"connect", 0, true})
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("err = %v, want a timeout", err)
		}
		if err := returns(t, func() error { return sendTo(context.Background(), pool, 2) }); err != nil {
			t.Fatalf("the send after a silent server: %v", err)
		}
		if srv.Accepted() != 2 || pool.Dials() != 1 {
			t.Errorf("%d connections, %d made; want the silent one given up and one more", srv.Accepted(), pool.Dials())
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		srv := newFaultServer(t, silentFirst(make(chan struct{})))
		pool := faultPool(t, srv.URL, 1, time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := returns(t, func() error { return sendTo(ctx, pool, 1) })
		wantFailure(t, err, failure{"connect", 0, true})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the context's deadline", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		started := make(chan struct{})
		srv := newFaultServer(t, silentFirst(started))
		pool := faultPool(t, srv.URL, 1, time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-started
			time.Sleep(50 * time.Millisecond) // let the pool wait for the greeting
			cancel()
		}()
		err := returns(t, func() error { return sendTo(ctx, pool, 1) })
		wantFailure(t, err, failure{"connect", 0, true})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("other connections go on", func(t *testing.T) {
		started := make(chan struct{})
		srv := newFaultServer(t, silentFirst(started))
		pool := faultPool(t, srv.URL, 2, time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		stuck := make(chan error, 1)
		go func() { stuck <- sendTo(ctx, pool, 1) }()
		<-started
		if err := returns(t, func() error { return sendTo(context.Background(), pool, 2) }); err != nil {
			t.Errorf("a send beside one waiting for a greeting: %v", err)
		}
		cancel()
		if err := returns(t, func() error { return <-stuck }); !errors.Is(err, context.Canceled) {
			t.Errorf("the send waiting for a greeting: err = %v, want context.Canceled", err)
		}
	})
}

// TestPoolFault421: "service not available", in greeting or reply, is
// temporary, costs the connection, and the next message is sent on a new one.
func TestPoolFault421(t *testing.T) {
	const reply = "421 4.3.2 Service shutting down, closing transmission channel"
	tests := []struct {
		at     string
		hangUp bool // as Postfix does after a 421; go-smtp stays
		stage  string
	}{
		{"greeting", true, "connect"},
		{"mail", true, "mail"},
		{"mail", false, "mail"},
		{"rcpt", true, "rcpt"},
		{"rcpt", false, "rcpt"},
		{"data", true, "data"},
		{"dot", true, "data"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s hang up %v", tt.at, tt.hangUp), func(t *testing.T) {
			bothWays(t, once(tt.at, action{reply: reply, close: tt.hangUp}), func(t *testing.T, srv *faultServer) {
				pool := faultPool(t, srv.URL, 1, 10*time.Second)
				err := returns(t, func() error { return sendTo(context.Background(), pool, 1) })
				se := wantFailure(t, err, failure{tt.stage, 421, true})
				if se.Enhanced != "4.3.2" || se.MaybeDelivered {
					t.Errorf("enhanced %q, maybe delivered %v; want 4.3.2, false", se.Enhanced, se.MaybeDelivered)
				}
				if err := returns(t, func() error { return sendTo(context.Background(), pool, 2) }); err != nil {
					t.Fatalf("the send after a 421: %v", err)
				}
				if srv.Accepted() != 2 || !slices.Equal(srv.Delivered(), []string{recipient(2).Address}) {
					t.Errorf("%d connections, delivered %v; want 2 and only person 2", srv.Accepted(), srv.Delivered())
				}
			})
		})
	}
}

// TestPoolFaultDropAfterGoAhead: the server hangs up after its 354, before
// the message. Nothing was delivered; the error is a temporary one without
// a reply, and the next message goes on a new connection.
func TestPoolFaultDropAfterGoAhead(t *testing.T) {
	fault := once("data", action{reply: "354 End data with <CR><LF>.<CR><LF>", close: true})
	bothWays(t, fault, func(t *testing.T, srv *faultServer) {
		pool := faultPool(t, srv.URL, 1, 10*time.Second)
		err := returns(t, func() error { return sendTo(context.Background(), pool, 1) })
		wantFailure(t, err, failure{"data", 0, true})
		if srv.Received() != 0 {
			t.Fatalf("the server read %d messages, want none", srv.Received())
		}
		if err := returns(t, func() error { return sendTo(context.Background(), pool, 2) }); err != nil {
			t.Fatalf("the send after the drop: %v", err)
		}
		if srv.Accepted() != 2 || !slices.Equal(srv.Delivered(), []string{recipient(2).Address}) {
			t.Errorf("%d connections, delivered %v; want 2 and only person 2", srv.Accepted(), srv.Delivered())
		}
	})
}

// TestPoolFaultNoFinalReply: the message and its final dot went out and
// the server hung up, or fell silent, before its reply. It may have been
// delivered: the outcome is neither success nor a permanent failure, and
// the pool must not send the message again itself, even though the
// connection had been used before (where a broken connection is otherwise
// retried once).
func TestPoolFaultNoFinalReply(t *testing.T) {
	for _, tt := range []struct {
		name string
		a    action
	}{{"hang up", action{close: true}}, {"silence", action{stall: true}}} {
		t.Run(tt.name, func(t *testing.T) {
			secondDot := func() func(cue) action {
				var dots atomic.Int64
				return func(c cue) action {
					if c.at == "dot" && dots.Add(1) == 2 {
						return tt.a
					}
					return action{}
				}
			}
			bothWays(t, secondDot, func(t *testing.T, srv *faultServer) {
				pool := faultPool(t, srv.URL, 1, 2*time.Second)
				if err := returns(t, func() error { return sendTo(context.Background(), pool, 1) }); err != nil {
					t.Fatal(err)
				}
				err := returns(t, func() error { return sendTo(context.Background(), pool, 2) })
				se := wantFailure(t, err, failure{"data", 0, true})
				if !se.MaybeDelivered {
					t.Errorf("err = %v: MaybeDelivered = false after the final dot went out", err)
				}
				if srv.Received() != 2 {
					t.Fatalf("the server read %d messages, want 2: person 2's once", srv.Received())
				}
				if err := returns(t, func() error { return sendTo(context.Background(), pool, 3) }); err != nil {
					t.Fatalf("the send after: %v", err)
				}
				want := []string{recipient(1).Address, recipient(3).Address}
				if srv.Accepted() != 2 || !slices.Equal(srv.Delivered(), want) {
					t.Errorf("%d connections, delivered %v; want 2 and %v", srv.Accepted(), srv.Delivered(), want)
				}
			})
		})
	}
}

// TestPoolFaultSilentAfterData: the server never answers DATA. The send
// ends at the pool's timeout; the connection is not used again. On a
// connection used before, the transaction is tried once on a new one, as
// for any connection found broken before the message could have gone.
func TestPoolFaultSilentAfterData(t *testing.T) {
	t.Run("new connection", func(t *testing.T) {
		bothWays(t, once("data", action{stall: true}), func(t *testing.T, srv *faultServer) {
			pool := faultPool(t, srv.URL, 1, 2*time.Second)
			err := returns(t, func() error { return sendTo(context.Background(), pool, 1) })
			se := wantFailure(t, err, failure{"data", 0, true})
			if !errors.Is(err, os.ErrDeadlineExceeded) || se.MaybeDelivered {
				t.Errorf("err = %v, maybe delivered %v; want a timeout, not delivered", err, se.MaybeDelivered)
			}
			if err := returns(t, func() error { return sendTo(context.Background(), pool, 2) }); err != nil {
				t.Fatalf("the send after: %v", err)
			}
			if srv.Accepted() != 2 || srv.Received() != 1 {
				t.Errorf("%d connections, %d messages read; want 2 and 1", srv.Accepted(), srv.Received())
			}
		})
	})
	t.Run("used connection", func(t *testing.T) {
		fault := func() func(cue) action {
			return func(c cue) action {
				if c.at == "data" && c.conn == 1 && c.rcpt == recipient(2).Address {
					return action{stall: true}
				}
				return action{}
			}
		}
		bothWays(t, fault, func(t *testing.T, srv *faultServer) {
			pool := faultPool(t, srv.URL, 1, 2*time.Second)
			for i := 1; i <= 3; i++ {
				if err := returns(t, func() error { return sendTo(context.Background(), pool, i) }); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			want := []string{recipient(1).Address, recipient(2).Address, recipient(3).Address}
			if srv.Accepted() != 2 || srv.Received() != 3 || !slices.Equal(srv.Delivered(), want) {
				t.Errorf("%d connections, %d read, delivered %v; want 2, 3, %v",
					srv.Accepted(), srv.Received(), srv.Delivered(), want)
			}
		})
	})
}

// TestPoolFaultRefusalKeepsConnection: a refusal before the message costs
// that message alone. The transaction is reset, so a strict server does not
// refuse the next MAIL as nested, and the connection is kept.
func TestPoolFaultRefusalKeepsConnection(t *testing.T) {
	tests := []struct {
		name   string
		faults map[string]action // for the second message
		want   failure
	}{
		{"MAIL 451", map[string]action{"mail": {reply: "451 4.3.0 Try again later"}}, failure{"mail", 451, true}},
		{"RCPT 450", map[string]action{"rcpt": {reply: "450 4.2.1 Mailbox busy"}}, failure{"rcpt", 450, true}},
		{"RCPT 550", map[string]action{"rcpt": {reply: "550 5.1.1 No such user"}}, failure{"rcpt", 550, false}},
		// A server older than RFC 2920 may say 354 to a pipelined DATA
		// after refusing every RCPT: the pool ends that data at once.
		{"RCPT 550 then DATA 354 anyway", map[string]action{
			"rcpt": {reply: "550 5.1.1 No such user"}, "data": {reply: "354 Go ahead"}}, failure{"rcpt", 550, false}},
		{"DATA 451", map[string]action{"data": {reply: "451 4.3.0 Try again later"}}, failure{"data", 451, true}},
		{"DATA 554", map[string]action{"data": {reply: "554 5.7.1 Rejected"}}, failure{"data", 554, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secondMessage := func() func(cue) action {
				var mails atomic.Int64
				return func(c cue) action {
					if c.at == "mail" {
						mails.Add(1)
					}
					if mails.Load() != 2 {
						return action{}
					}
					return tt.faults[c.at]
				}
			}
			bothWays(t, secondMessage, func(t *testing.T, srv *faultServer) {
				pool := faultPool(t, srv.URL, 1, 10*time.Second)
				if err := returns(t, func() error { return sendTo(context.Background(), pool, 2) }); err != nil {
					t.Fatal(err)
				}
				err := returns(t, func() error { return sendTo(context.Background(), pool, 1) })
				wantFailure(t, err, tt.want)
				if err := returns(t, func() error { return sendTo(context.Background(), pool, 3) }); err != nil {
					t.Fatalf("the send after the refusal: %v", err)
				}
				want := []string{recipient(2).Address, recipient(3).Address}
				if srv.Accepted() != 1 || pool.Dials() != 1 || !slices.Equal(srv.Delivered(), want) {
					t.Errorf("%d connections, %d dials, delivered %v; want 1, 1, %v",
						srv.Accepted(), pool.Dials(), srv.Delivered(), want)
				}
			})
		})
	}
}

// TestPoolFaultFinalRefusal: a 5xx to the message itself is permanent and
// says why; the connection goes on with the next message.
func TestPoolFaultFinalRefusal(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.SetDataHook(func(to []string) *smtp.SMTPError {
		switch to[0] {
		case "big@example.com":
			return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big"}
		case "spam@example.com":
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Rejected as spam"}
		}
		return nil
	})
	pool := faultPool(t, srv.URL, 1, 10*time.Second)
	for _, tt := range []struct{ to, enhanced, reply string }{
		{"big@example.com", "5.3.4", "Message too big"},
		{"spam@example.com", "5.7.1", "Rejected as spam"},
	} {
		r := recipient(1)
		r.Address = tt.to
		err := returns(t, func() error { return pool.Send(context.Background(), envelopeFrom, tt.to, preparedOnce, r) })
		se := wantFailure(t, err, failure{"data", map[string]int{"5.3.4": 552, "5.7.1": 554}[tt.enhanced], false})
		if se.Enhanced != tt.enhanced || se.Reply != tt.enhanced+" "+tt.reply || se.MaybeDelivered {
			t.Errorf("%s: enhanced %q, reply %q, maybe delivered %v", tt.to, se.Enhanced, se.Reply, se.MaybeDelivered)
		}
		if err := returns(t, func() error { return sendTo(context.Background(), pool, 2) }); err != nil {
			t.Fatalf("the send after %s: %v", tt.to, err)
		}
	}
	if srv.Count() != 2 || pool.Dials() != 1 {
		t.Errorf("accepted %d over %d connections, want 2 over 1", srv.Count(), pool.Dials())
	}
}

// TestPoolFaultServerHangsUpAtOnce: a server that closes every connection
// as it opens. The pool keeps no backoff of its own: each send makes one
// connection (two when the connection it held had broken) and returns a
// temporary error without a reply code, which the worker takes for the
// server being unreachable and backs off from.
func TestPoolFaultServerHangsUpAtOnce(t *testing.T) {
	var hangUp atomic.Bool
	srv := newFaultServer(t, func(c cue) action {
		if c.at == "greeting" && hangUp.Load() {
			return action{close: true}
		}
		return action{}
	})
	pool := faultPool(t, srv.URL, 1, 10*time.Second)
	if err := returns(t, func() error { return sendTo(context.Background(), pool, 1) }); err != nil {
		t.Fatal(err)
	}
	hangUp.Store(true)
	srv.dropAll()
	before := srv.Accepted()
	err := returns(t, func() error { return sendTo(context.Background(), pool, 2) })
	wantFailure(t, err, failure{"connect", 0, true})
	if n := srv.Accepted() - before; n != 1 {
		t.Fatalf("the send on the broken connection made %d connections, want 1 redial", n)
	}
	const sends = 20
	for i := range sends {
		before := srv.Accepted()
		err := returns(t, func() error { return sendTo(context.Background(), pool, 3+i) })
		wantFailure(t, err, failure{"connect", 0, true})
		if n := srv.Accepted() - before; n != 1 {
			t.Fatalf("send %d made %d connections, want 1", i, n)
		}
	}
	hangUp.Store(false)
	if err := returns(t, func() error { return sendTo(context.Background(), pool, 99) }); err != nil {
		t.Fatalf("the send once the server is back: %v", err)
	}
	if srv.Received() != 2 {
		t.Errorf("the server read %d messages, want 2", srv.Received())
	}
}

// TestPoolFaultRestartWithIdleConnections: every idle connection of the
// pool found dropped after a restart is redialled without costing a message.
func TestPoolFaultRestartWithIdleConnections(t *testing.T) {
	srv := mailtest.NewServer(t)
	const conns = 3
	pool := faultPool(t, srv.URL, conns, 10*time.Second)
	for range conns {
		cn := <-pool.slots
		if err := pool.dial(context.Background(), cn); err != nil {
			t.Fatal(err)
		}
		pool.slots <- cn
	}
	srv.Stop()
	srv.Start()
	for i := range 2 * conns {
		if err := returns(t, func() error { return sendTo(context.Background(), pool, i) }); err != nil {
			t.Fatalf("send %d after the restart: %v", i, err)
		}
	}
	if srv.Count() != 2*conns || pool.Dials() != 2*conns {
		t.Errorf("accepted %d with %d dials, want %d and %d", srv.Count(), pool.Dials(), 2*conns, 2*conns)
	}
}

// TestPoolFaultCancelledAwaitingFinalReply: once the final dot is out, only
// the server's reply says whether the message was delivered. A send
// cancelled then (a worker shutting down) still waits for it, up to the
// pool's timeout, rather than report a failure that would make the caller
// send the message again.
func TestPoolFaultCancelledAwaitingFinalReply(t *testing.T) {
	srv := mailtest.NewServer(t)
	pool := faultPool(t, srv.URL, 1, 30*time.Second)
	deciding, release := make(chan struct{}), make(chan struct{})
	srv.SetDataHook(func([]string) *smtp.SMTPError {
		close(deciding)
		<-release
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sendTo(ctx, pool, 1) }()
	<-deciding // the server has the message
	cancel()
	select {
	case err := <-done:
		close(release)
		t.Fatalf("Send returned %v before the server's reply", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := returns(t, func() error { return <-done }); err != nil {
		t.Fatalf("Send = %v, want the server's acceptance", err)
	}
	if srv.Count() != 1 {
		t.Errorf("accepted %d, want 1", srv.Count())
	}
}
