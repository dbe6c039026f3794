package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// lease tracks one sender's hold on its batch. The lease's expiry in SQL
// tells other senders when they may take over; the sender itself stops
// sending a safety margin before that moment unless a renewal has pushed it
// further, so a slow but live sender and its successor never overlap.
type lease struct {
	renew func(ctx context.Context, b store.BatchRef, owner string, until time.Time) (int64, error)
	now   func() time.Time // the database's clock, which compares the lease's expiry
	batch store.BatchRef
	owner string
	dur   time.Duration
	quiet func() bool // when true, a failed renewal is not logged: its cause already was

	mu       sync.Mutex
	deadline time.Time // local: stop sending after this
}

func newLease(db *store.DB, b store.BatchRef, owner string, dur time.Duration) *lease {
	return &lease{renew: db.RenewLease, now: db.Now, batch: b, owner: owner, dur: dur}
}

// until is the lease end to store, and starts the local deadline.
func (l *lease) until() time.Time {
	now := l.now()
	l.mu.Lock()
	l.deadline = now.Add(l.dur - l.margin())
	l.mu.Unlock()
	return now.Add(l.dur)
}

// margin is the part of the lease kept back for clock skew and slow writes.
func (l *lease) margin() time.Duration { return l.dur / 3 }

func (l *lease) valid() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now().Before(l.deadline)
}

// keep renews the lease every third of its length until the returned stop is
// called. A failed renewal leaves the deadline where it was: the sender stops
// in time rather than overlap with a successor.
func (l *lease) keep(ctx context.Context, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(l.dur / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			start := l.now()
			due, err := l.renew(ctx, l.batch, l.owner, start.Add(l.dur))
			if err != nil {
				if ctx.Err() == nil && (l.quiet == nil || !l.quiet()) {
					log.Warn("lease_renew_failed", "error", err)
				}
				continue
			}
			if due == 0 {
				continue // the lease is someone else's now, or there is nothing left to send
			}
			l.mu.Lock()
			l.deadline = start.Add(l.dur - l.margin())
			l.mu.Unlock()
		}
	}()
	return func() { cancel(); wg.Wait() }
}
