package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// errLedgerDown stops a sender before its next message while outcomes
// cannot be written.
var errLedgerDown = errors.New("outcomes cannot be written to the database")

// ledgerGuard stops every sender of the process before its next message
// as soon as one outcome fails to be written, and lets them go on once the
// database takes writes again. A message sent while its outcome cannot be
// written is sent again later: a database that fails under a sender that
// keeps going (a disk gone read-only, or full) would make as many
// duplicates as messages sent until it is back. Stopped at the first
// failure, the senders leave at most Options.InFlight messages unrecorded
// (those already past the gate), and the guard writes those outcomes
// itself once it can, under the leases they were sent with: in most
// outages, nothing is sent twice.
//
// The failure is logged once, and the recovery once.
type ledgerGuard struct {
	w *Worker // its DB and Log

	down atomic.Bool // read by every gate: the fast path is one load

	mu        sync.Mutex
	why       error              // the first failure of this outage
	since     time.Time          // when it began
	unwritten []*store.Recording // outcomes that failed, to write again
	up        chan struct{}      // closed when writes succeed again
	probes    int                // writes tried since the outage began, for tests
}

// Probe backoff: a few tries a second at first, then every few seconds.
const (
	probeFirst = 50 * time.Millisecond
	probeMax   = 5 * time.Second
	probeWrite = 30 * time.Second // the longest one write may take
)

// failed takes an outcome whose write failed. It runs on the recorder's
// goroutine before the outcome's in-flight slot is freed, so that no
// sender can take that slot and pass its gate before the guard is down.
func (g *ledgerGuard) failed(r *store.Recording, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.unwritten = append(g.unwritten, r)
	if g.down.Load() {
		return
	}
	g.why, g.since, g.up = err, time.Now(), make(chan struct{})
	g.down.Store(true)
	g.w.Log.Error("outcome_writes_failing", "error", err.Error(),
		"effect", "every sender stops before its next message until the database takes writes again")
	go g.probe()
}

// written is called by the recorder for each outcome the worker hands it,
// once written or failed.
func (g *ledgerGuard) written(r *store.Recording) {
	if _, err := r.Result(); err != nil {
		g.failed(r, err)
	}
}

// downErr is the error of a sender stopped by the guard.
func downErr(cause error) error { return fmt.Errorf("%w: %v", errLedgerDown, cause) }

// wait returns at once while outcomes can be written; otherwise it waits
// until they can, ctx is done, or stopping closes.
func (g *ledgerGuard) wait(ctx context.Context, stopping <-chan struct{}) error {
	if !g.down.Load() {
		return nil
	}
	g.mu.Lock()
	up := g.up
	g.mu.Unlock()
	if up == nil {
		return nil
	}
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stopping:
		return errStopping
	}
}

// probe writes the outcomes that failed again, backing off, until all are
// written or the database is closed; then the senders go on.
func (g *ledgerGuard) probe() {
	wait := probeFirst
	for {
		t := time.NewTimer(wait)
		<-t.C
		err := g.writeAgain()
		if err == nil || errors.Is(err, store.ErrClosed) {
			return
		}
		wait = min(2*wait, probeMax)
	}
}

// writeAgain writes the unwritten outcomes, oldest first. It returns nil
// once none is left and the guard is up again.
func (g *ledgerGuard) writeAgain() error {
	g.mu.Lock()
	todo := g.unwritten
	g.probes++
	g.mu.Unlock()
	done, err := 0, error(nil)
	for _, r := range todo {
		ctx, cancel := context.WithTimeout(context.Background(), probeWrite)
		var held bool
		held, err = g.w.DB.Record(ctx, r.Owner(), r.Outcome())
		cancel()
		if err != nil {
			break
		}
		done++
		if !held {
			g.w.Log.Warn("outcome_not_written", "delivery", r.Outcome().ID, "state", r.Outcome().State,
				"reason", "the lease was lost while the database failed: the message may be sent again")
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.unwritten = g.unwritten[done:] // outcomes may have failed meanwhile
	if err != nil {
		return err
	}
	if len(g.unwritten) > 0 {
		return errLedgerDown // more came in: write them too
	}
	g.w.Log.Info("outcome_writes_recovered", "down_for", time.Since(g.since).Round(time.Millisecond).String(),
		"written_again", done, "first_error", g.why.Error())
	g.down.Store(false)
	close(g.up)
	g.up, g.why = nil, nil
	return nil
}
