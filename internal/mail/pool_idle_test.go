package mail

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

// TestPoolRedialsAfterIdle421: a server that closes idle connections
// answers the first command after the idle spell with 421 and hangs up
// (Postfix and go-smtp both do). Here every connection is closed so after
// its first message. Each message still goes, on a fresh connection,
// and the caller never sees the 421, which would make it back off as if the
// server refused mail.
func TestPoolRedialsAfterIdle421(t *testing.T) {
	newFault := func() func(cue) action {
		var mu sync.Mutex
		mails := map[int]int{} // MAIL commands seen per connection
		return func(c cue) action {
			if c.at != "mail" {
				return action{}
			}
			mu.Lock()
			defer mu.Unlock()
			mails[c.conn]++
			if mails[c.conn] == 2 {
				return action{reply: "421 4.4.2 faults.local Error: timeout exceeded", close: true}
			}
			return action{}
		}
	}
	bothWays(t, newFault, func(t *testing.T, srv *faultServer) {
		pool := faultPool(t, srv.URL, 1, 10*time.Second)
		const sends = 8
		for i := range sends {
			if err := returns(t, func() error { return sendTo(context.Background(), pool, i) }); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		if got := len(srv.Delivered()); got != sends {
			t.Errorf("delivered %d, want %d", got, sends)
		}
		if srv.Accepted() != sends {
			t.Errorf("%d connections, want one a message: the server closed each after one", srv.Accepted())
		}
	})
}

// TestPoolWaitsForASlowFinalReply: the connect timeout (smtp.timeout) does
// not bound the server's decision on a message. A server that takes longer
// than it to answer the final dot (RFC 5321 allows it ten minutes) gets its
// answer heard, so the message is not reported failed, to be sent again.
func TestPoolWaitsForASlowFinalReply(t *testing.T) {
	srv := mailtest.NewServer(t)
	const connect = 300 * time.Millisecond
	srv.SetDataHook(func([]string) *smtp.SMTPError {
		time.Sleep(3 * connect) // the server deciding, slowly
		return nil
	})
	s, err := Open(context.Background(), Options{URL: srv.URL, TLS: TLSNone, Connections: 1, Timeout: connect})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 2 {
		if err := returns(t, func() error { return sendTo(context.Background(), s.(*Pool), i) }); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if srv.Count() != 2 {
		t.Errorf("accepted %d, want 2", srv.Count())
	}
}
