package main

import (
	"context"
	"time"
)

// aloneResult is POST load on its own: as many as conns clients can send,
// then an open loop at a steady rate.
type aloneResult struct {
	closed  loadResult    // as many as conns clients can send
	open    loadResult    // at the open loop's rate
	drained time.Duration // from the closed loop's end until what it caused was done
}

// aloneLoad says what postAlone sends.
type aloneLoad struct {
	poster    func(addr, prefix string, conns int) *poster // newSignups or newInquiries
	conns     int                                          // clients of the closed loop
	perSecond float64                                      // the open loop's rate
	stretch   time.Duration                                // how long each loop lasts
	done      func(*ledger, context.Context) (bool, error) // whether what the closed loop caused is done
	what      string                                       // what done waits for, for its error
}

// postAlone waits for the child's first poll, then sends p as fast as
// p.conns clients can, waits until p.done, then sends it at p.perSecond.
func (s *session) postAlone(ctx context.Context, exited <-chan struct{}, p aloneLoad) (aloneResult, error) {
	var r aloneResult
	l, err := s.ready(ctx, exited, 60*time.Second)
	if err != nil {
		return r, err
	}
	defer l.Close()
	load, cancel := context.WithTimeout(ctx, p.stretch)
	r.closed = p.poster(s.httpAddr, "closed-", p.conns).closedLoop(load, p.conns)
	cancel()
	t0 := time.Now()
	done := func(ctx context.Context) (bool, error) { return p.done(l, ctx) }
	if err := waitFor(ctx, exited, 5*time.Minute, p.what, done); err != nil {
		return r, err
	}
	r.drained = time.Since(t0)
	load, cancel = context.WithTimeout(ctx, p.stretch)
	defer cancel()
	start := time.Now()
	samples := p.poster(s.httpAddr, "open-", 64).openLoop(load, p.perSecond)
	r.open = window(samples, start, start.Add(p.stretch))
	return r, nil
}

// ready opens the ledger of the session's child and waits, up to limit,
// for its first poll: the child has reconciled and serves.
func (s *session) ready(ctx context.Context, exited <-chan struct{}, limit time.Duration) (*ledger, error) {
	l, err := s.openLedger()
	if err != nil {
		return nil, err
	}
	if err := waitFor(ctx, exited, limit, "the first poll", l.baselined); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
