package mail

import (
	"context"
	"sync"
	"testing"
	"time"
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
