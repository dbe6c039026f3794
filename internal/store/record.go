package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Record stores the outcome of one row, only if owner still holds its lease. It
// reports false when the lease was lost, in which case nothing was written.
// It is RecordAsync followed by Wait.
func (db *DB) Record(ctx context.Context, owner string, o Outcome) (bool, error) {
	return db.RecordAsync(owner, o, nil).Wait(ctx)
}

// RecordAsync hands the outcome of one row to the recorder, which stores it
// only if owner still holds the row's lease, and returns at once; after,
// when set, runs on the recorder's goroutine as soon as the outcome is
// written (or has failed), before Wait returns, and may read its Result.
//
// The recorder commits outcomes in groups: each SQLite commit costs several
// system calls and a WAL frame per page touched, far more than the UPDATE
// itself. It commits what it holds as soon as it holds RecordGroup
// outcomes, or someone waits on one of them, or the oldest has waited
// recordLinger. Senders hand over an outcome and go on with their next
// message, and wait for the outcome only at the last moment before that
// message can be delivered, so the wait rarely costs them anything.
func (db *DB) RecordAsync(owner string, o Outcome, after func(*Recording)) *Recording {
	r := &Recording{rc: &db.recording, owner: owner, o: o, after: after, done: make(chan struct{})}
	rc := &db.recording
	rc.mu.Lock()
	if rc.closed {
		rc.mu.Unlock()
		r.finish(false, fmt.Errorf("record delivery: %w", ErrClosed))
		return r
	}
	if rc.wake == nil {
		rc.wake = make(chan struct{}, 1)
		rc.stopped = make(chan struct{})
		rc.ctx, rc.cancel = context.WithCancel(context.Background())
		go db.recordLoop()
	}
	rc.pending = append(rc.pending, r)
	// The recorder looks when the group is full, and when the first
	// outcome arrives, to start the linger timer.
	look := len(rc.pending) >= max(db.RecordGroup, 1) || len(rc.pending) == 1
	rc.mu.Unlock()
	if look {
		rc.poke()
	}
	return r
}

// recordLinger is how long an outcome nobody waits for may stay unwritten.
const recordLinger = 2 * time.Millisecond

// ErrClosed is the error of an outcome handed to the recorder of a closed
// database.
var ErrClosed = errors.New("database closed")

// A Recording is an outcome handed to RecordAsync.
type Recording struct {
	rc    *recording
	owner string
	o     Outcome
	after func(*Recording)
	done  chan struct{}
	held  bool
	err   error
}

// Outcome is the outcome handed over.
func (r *Recording) Outcome() Outcome { return r.o }

// Owner is the lease owner it was handed over for.
func (r *Recording) Owner() string { return r.owner }

// Result is what Wait returns, without waiting: valid in the after
// function given to RecordAsync, and once Wait has returned.
func (r *Recording) Result() (held bool, err error) { return r.held, r.err }

// Wait waits until the outcome is written and reports whether the lease
// still held (false: nothing was written). Cancelling ctx stops the wait,
// not the write.
func (r *Recording) Wait(ctx context.Context) (bool, error) {
	select {
	case <-r.done:
		return r.held, r.err
	default:
	}
	r.rc.mu.Lock()
	r.rc.wanted = true
	r.rc.mu.Unlock()
	r.rc.poke()
	select {
	case <-r.done:
		return r.held, r.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (r *Recording) finish(held bool, err error) {
	r.held, r.err = held && err == nil, err
	if r.after != nil {
		r.after(r)
	}
	close(r.done)
}

// recording is the state of the recorder, a goroutine started on the first
// RecordAsync and stopped by Close once everything handed to it is written.
type recording struct {
	mu      sync.Mutex
	pending []*Recording
	writing int  // outcomes being written now
	wanted  bool // someone waits on a pending outcome
	closed  bool
	wake    chan struct{} // nil until the recorder starts
	stopped chan struct{} // closed when the recorder has exited
	// ctx is the recorder's writes'; cancel ends the write under way when
	// Close runs out of time.
	ctx    context.Context
	cancel context.CancelFunc
}

func (rc *recording) poke() {
	select {
	case rc.wake <- struct{}{}:
	default: // the recorder is already due to look
	}
}

func (db *DB) recordLoop() {
	rc := &db.recording
	defer close(rc.stopped)
	defer db.closeJournal() // the recorder's own connection
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var since time.Time // when the oldest pending outcome arrived
	for {
		select {
		case <-rc.wake:
		case <-linger.C:
		}
		rc.mu.Lock()
		n, closed := len(rc.pending), rc.closed
		if n == 0 {
			rc.wanted = false // what was waited on is written
			rc.mu.Unlock()
			if closed {
				return
			}
			continue
		}
		if since.IsZero() {
			since = time.Now()
		}
		if wait := recordLinger - time.Since(since); !rc.wanted && !closed && n < max(db.RecordGroup, 1) && wait > 0 {
			rc.mu.Unlock()
			linger.Reset(wait)
			continue
		}
		batch := rc.pending
		rc.pending, rc.wanted, since, rc.writing = nil, false, time.Time{}, len(batch)
		rc.mu.Unlock()
		linger.Stop()
		db.commitRecords(rc.ctx, batch)
		rc.mu.Lock()
		rc.writing = 0
		rc.mu.Unlock()
		rc.poke() // more may have come, or closed, while committing
	}
}

// stopRecording refuses new outcomes and waits until those already handed
// to the recorder are written, or ctx is done. Then the write under way is
// cancelled and the outcomes still waiting fail with ErrClosed, without
// waiting any longer: a database that hangs (a lock never released, a disk
// that stopped answering) must not hold up a stop. The error says how many
// outcomes may not have been written.
func (db *DB) stopRecording(ctx context.Context) error {
	rc := &db.recording
	rc.mu.Lock()
	rc.closed = true
	started := rc.wake != nil
	rc.mu.Unlock()
	if !started {
		return nil
	}
	rc.poke()
	select {
	case <-rc.stopped:
		return nil
	case <-ctx.Done():
	}
	rc.cancel()
	rc.mu.Lock()
	left, writing := rc.pending, rc.writing
	rc.pending = nil
	rc.mu.Unlock()
	for _, r := range left {
		r.finish(false, fmt.Errorf("record delivery: %w", ErrClosed))
	}
	return fmt.Errorf("stop recording: %d outcomes not written, %d more abandoned mid-write: %w",
		len(left), writing, ctx.Err())
}

// commitRecords writes a group of outcomes: to the journal on SQLite, to
// the delivery rows on PostgreSQL.
func (db *DB) commitRecords(ctx context.Context, batch []*Recording) {
	if db.journalled() {
		db.appendRecords(ctx, batch)
		return
	}
	if !anyBounce(batch) {
		// One round trip and one commit for the group (outcomes_pg.go).
		held, err := db.recordGroup(ctx, batch)
		if err != nil {
			held = make([]bool, len(batch))
		}
		for i, r := range batch {
			r.finish(held[i], err)
		}
		return
	}
	held := make([]bool, len(batch))
	err := db.tx(ctx, func(tx *Tx) error {
		st, err := db.recordStmt(ctx)
		if err != nil {
			return err
		}
		update := tx.tx.StmtContext(ctx, st)
		now := db.nowMS()
		for i, r := range batch {
			ok, err := tx.record(ctx, update, r.owner, r.o, now)
			if err != nil {
				return fmt.Errorf("record delivery %d: %w", r.o.ID, err)
			}
			held[i] = ok
		}
		return nil
	})
	for i, r := range batch {
		r.finish(held[i], err)
	}
}

// appendRecords writes outcomes to the journal on the recorder's own
// connection, opened on first use and again after it fails, at most
// maxGroupInsert outcomes a statement. Each chunk commits on its own, so
// each reports its own result.
func (db *DB) appendRecords(ctx context.Context, batch []*Recording) {
	held := make([]bool, len(batch))
	errs := make([]error, len(batch))
	unlock := db.lockWrites()
	for start := 0; start < len(batch); start += maxGroupInsert {
		chunk := batch[start:min(len(batch), start+maxGroupInsert)]
		h, err := db.appendChunk(ctx, chunk)
		copy(held[start:], h)
		for i := range chunk {
			errs[start+i] = err
		}
	}
	unlock()
	for i, r := range batch {
		r.finish(held[i], errs[i])
	}
}

func (db *DB) appendChunk(ctx context.Context, chunk []*Recording) ([]bool, error) {
	if db.journal == nil {
		j, err := openJournalConn(ctx, db.db)
		if err != nil {
			return nil, err
		}
		db.journal = j
	}
	held, err := db.journal.appendOutcomes(ctx, chunk, db.nowMS())
	if err != nil {
		db.journal.close() // a fresh connection for the next group
		db.journal = nil
	}
	return held, err
}

// recordUpdate writes one outcome to its delivery row, on PostgreSQL;
// recordAppend adds it to the journal, on SQLite (see outcomes.go and
// journal.go). Prepared once, one of them runs once per message.
const (
	recordUpdate = `UPDATE deliveries SET state = ?, last_reply = ?, message_id = ?, sent_at = ?,
	done_at = ?, next_attempt_at = ?, attempts = attempts + 1 - ?, unanswered = unanswered + ?
	WHERE id = ? AND state = 'queued' AND EXISTS (SELECT 1 FROM batch_leases l
		WHERE l.kind = deliveries.kind AND l.source_id = deliveries.source_id AND l.batch = deliveries.batch AND l.owner = ?)`
	recordAppend = `INSERT INTO outcomes (delivery_id, state, reply, message_id, at, next_attempt_at, bounce, unanswered)
	SELECT d.id, ?, ?, ?, ?, ?, ?, ? FROM deliveries d JOIN batch_leases l
		ON l.kind = d.kind AND l.source_id = d.source_id AND l.batch = d.batch
	WHERE d.id = ? AND d.state = 'queued' AND l.owner = ?`
)

// recordStmt is recordUpdate, prepared on first use.
func (db *DB) recordStmt(ctx context.Context) (*sql.Stmt, error) {
	db.prepMu.Lock()
	defer db.prepMu.Unlock()
	if db.record == nil {
		st, err := db.db.PrepareContext(ctx, db.q(recordUpdate))
		if err != nil {
			return nil, fmt.Errorf("prepare record: %w", err)
		}
		db.record = st
	}
	return db.record, nil
}

// recordWith writes one outcome with the prepared recordUpdate.
func recordWith(ctx context.Context, st *sql.Stmt, owner string, o Outcome, now int64) (bool, error) {
	res, err := st.ExecContext(ctx, recordArgs(owner, o, now)...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// recordArgs are recordUpdate's arguments for o, written at now.
func recordArgs(owner string, o Outcome, now int64) []any {
	var sentAt, doneAt sql.NullInt64
	if o.State != DeliveryQueued { // final
		doneAt = sql.NullInt64{Int64: now, Valid: true}
	}
	if o.State == DeliverySent {
		sentAt = doneAt
	}
	return []any{o.State, o.Reply, o.MessageID, sentAt, doneAt, o.Next.UnixMilli(), flag(o.Unanswered), flag(o.Unanswered), o.ID, owner}
}

// record writes one outcome and counts its bounce, in tx.
func (tx *Tx) record(ctx context.Context, st *sql.Stmt, owner string, o Outcome, now int64) (bool, error) {
	if held, err := recordWith(ctx, st, owner, o, now); err != nil || !held {
		return false, err
	}
	if o.Bounce {
		_, err := tx.exec(ctx, `UPDATE subscribers SET bounces = bounces + 1, updated_at = ?,
			status = CASE WHEN (bounces + 1 >= ? OR ? = 2) AND status = 'active' THEN 'bounced' ELSE status END
			WHERE id = (SELECT subscriber_id FROM deliveries WHERE id = ?)`, now, BounceLimit, bounceFlag(o), o.ID)
		if err != nil {
			return true, fmt.Errorf("count bounce: %w", err)
		}
		if _, err := tx.exec(ctx, smtpBounce+` SELECT d.subscriber_id, d.id, 'hard', '', ?, 'smtp', ?
			FROM deliveries d WHERE d.id = ? AND d.subscriber_id IS NOT NULL`,
			truncate(o.Reply, maxReason), now, o.ID); err != nil {
			return true, fmt.Errorf("store bounce: %w", err)
		}
	}
	return true, nil
}

// smtpBounce stores a permanent SMTP failure as a hard bounce from the
// 'smtp' door, for `status` and the person's export. Its suppression stays the spine's own count
// (BounceLimit): a 5xx in the session may refuse the message, not the
// address. Each caller adds the SELECT of its rows.
const smtpBounce = `INSERT INTO bounces (subscriber_id, delivery_id, type, status, reason, source, created_at)`

// BounceLimit is how many permanent failures suppress an address, unless
// one says the address itself is gone (addressGone): that suppresses it at
// once.
const BounceLimit = 3
