package mail

import (
	"context"
	"net"
	"sync"
	"time"
)

// watch interrupts a send's blocked I/O, by moving the connection's
// deadline to now, when the send's context is done, until the message's
// final dot has gone out. From then on only the server's reply says whether
// the message was delivered, and a send that gave up on it would have its
// caller send the message again: that reply is awaited for the data-end
// timeout, whatever the context.
type watch struct {
	ctx   context.Context
	nc    net.Conn
	times timeouts
	stop  func() bool

	mu     sync.Mutex
	fired  bool // the deadline was moved to now
	sealed bool // it no longer will be
}

func newWatch(ctx context.Context, nc net.Conn, times timeouts) *watch {
	w := &watch{ctx: ctx, nc: nc, times: times}
	w.stop = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.sealed {
			w.fired = true
			_ = w.nc.SetDeadline(time.Now())
		}
	})
	return w
}

// renew gives the send a whole command timeout again, unless its context
// is done.
func (w *watch) renew() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.fired && !w.sealed {
		_ = w.nc.SetDeadline(sendDeadline(w.ctx, w.times.command))
	}
}

// seal stops interrupting and gives the server the whole data-end timeout
// to reply.
func (w *watch) seal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sealed = true
	_ = w.nc.SetDeadline(time.Now().Add(w.times.dataEnd))
}

// end stops the watch for good and reports whether it interrupted the
// send.
func (w *watch) end() bool {
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sealed = true
	return w.fired
}
