package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Sign-ups that arrive together are written in one transaction: one
// commit, and on SQLite one fsync, for all of them.
//
// On SQLite a commit holds the database's one write lock through its
// fsync, and a fan-out's recorder needs that lock for every group of
// outcomes it writes, its senders waiting on it before each message's
// end. So while messages are being sent, a request waits up to
// signupLinger for others to share its commit; with 100 sign-ups a second
// that halves the commits they add under a fan-out. While nothing is being
// sent a request is written at once, and signupGroupFull requests waiting
// together are written at once either way.
const (
	signupLinger    = 10 * time.Millisecond
	signupGroupFull = 8
	// sendingLately is how recently an outcome must have been handed to the
	// recorder for signupLinger to apply.
	sendingLately = time.Second
)

// signupGroup gathers sign-up requests for one transaction; see
// RequestSignup. The first request of a group leads it: it waits out the
// linger, takes every request then waiting, writes them and wakes each.
// Requests that arrive meanwhile form the next group.
type signupGroup struct {
	mu      sync.Mutex
	pending []*signupCall
	leading bool          // a group is gathering or being written
	full    chan struct{} // a send wakes the leader when the group is full
	commits atomic.Int64  // transactions written, for tests
}

// signupCall is one request in a group and, once done is closed, its
// result.
type signupCall struct {
	n        NewSubscriber
	page, ip string
	res      SignupResult
	err      error
	done     chan struct{}
}

// sendingNow reports whether an outcome was handed to the recorder within
// sendingLately: messages are being sent, and a sign-up's commit is worth
// sharing.
func (db *DB) sendingNow() bool {
	last := db.lastOutcome.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < sendingLately
}

// signupInGroup adds c to the gathering group, leading it if there is
// none, and waits until it is written.
func (db *DB) signupInGroup(ctx context.Context, c *signupCall) (SignupResult, error) {
	g := &db.signups
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := !g.leading
	if lead {
		g.leading = true
		g.full = make(chan struct{}, 1)
	}
	if len(g.pending) == signupGroupFull {
		select {
		case g.full <- struct{}{}:
		default:
		}
	}
	full := g.full
	g.mu.Unlock()
	if lead {
		// The group is written whatever becomes of this request's own
		// context: other people's requests are in it.
		db.leadSignups(context.WithoutCancel(ctx), full)
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		// It may still be written; the caller has gone either way.
		return SignupResult{}, ctx.Err()
	}
}

// leadSignups waits for the group to fill while messages are being sent,
// then writes it, and hands the lead to the next group if one is waiting.
func (db *DB) leadSignups(ctx context.Context, full chan struct{}) {
	if db.sendingNow() {
		t := time.NewTimer(signupLinger)
		select {
		case <-t.C:
		case <-full:
			t.Stop()
		}
	}
	g := &db.signups
	g.mu.Lock()
	calls := g.pending
	g.pending = nil
	g.mu.Unlock()

	db.writeSignups(ctx, calls)

	g.mu.Lock()
	next := len(g.pending) > 0
	if next {
		g.full = make(chan struct{}, 1)
		if len(g.pending) >= signupGroupFull {
			g.full <- struct{}{}
		}
		go db.leadSignups(ctx, g.full)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
}

// writeSignups writes calls in one transaction, each in a savepoint of
// its own, so that one request's error fails only that request. A failed
// commit fails them all: none was written.
func (db *DB) writeSignups(ctx context.Context, calls []*signupCall) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	db.signups.commits.Add(1)
	err := db.tx(ctx, func(tx *Tx) error {
		for i, c := range calls {
			if len(calls) == 1 {
				c.res, c.err = tx.signup(ctx, c.n, c.page, c.ip)
				return c.err
			}
			sp := fmt.Sprintf("signup%d", i)
			if _, err := tx.exec(ctx, "SAVEPOINT "+sp); err != nil {
				return err
			}
			c.res, c.err = tx.signup(ctx, c.n, c.page, c.ip)
			if c.err != nil {
				if _, err := tx.exec(ctx, "ROLLBACK TO SAVEPOINT "+sp); err != nil {
					return err
				}
			}
			if _, err := tx.exec(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
				return err
			}
		}
		return nil
	})
	for _, c := range calls {
		if err != nil {
			c.res, c.err = SignupResult{}, err
		}
		close(c.done)
	}
}
