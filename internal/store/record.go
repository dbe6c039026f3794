package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
	db.startRecorder()
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

// startRecorder starts the recorder if it has not started, with rc.mu held.
func (db *DB) startRecorder() {
	rc := &db.recording
	if rc.wake == nil {
		rc.wake = make(chan struct{}, 1)
		rc.stopped = make(chan struct{})
		rc.ctx, rc.cancel = context.WithCancel(context.Background())
		go db.recordLoop()
	}
}

// ride runs fn in a write transaction and returns its error, or the
// transaction's. On SQLite that is the recorder's next transaction, on
// its own connection, which commits fn's writes with the outcomes then
// waiting and those of any other write riding along, in one commit and
// one fsync; fn runs in a savepoint of its own, so that its error undoes
// its writes and no one else's, and with the recorder's context, not
// ctx, which only bounds the wait. Elsewhere fn has a transaction of its
// own.
//
// SQLite has one writer at a time, and under synchronous=full each commit
// is an fsync. A sign-up committed on its own held the write lock that the
// recorder, and so the senders of a fan-out, wait on, for a commit of its
// own; riding, its statements join a commit that happens anyway. Beside a
// fan-out, 100 sign-ups a second left it a few points more of its rate
// this way (docs/performance.md, "Sign-ups beside a fan-out"). fn must not write
// through db, whose write lock is held: only through the Tx it is given.
func (db *DB) ride(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if !db.journalled() {
		return db.tx(ctx, func(tx *Tx) error { return fn(ctx, tx) })
	}
	rd := &rider{fn: fn, done: make(chan struct{})}
	rc := &db.recording
	rc.mu.Lock()
	if rc.closed {
		rc.mu.Unlock()
		return ErrClosed
	}
	db.startRecorder()
	// It waits for the next commit, as an outcome nobody waits for does:
	// while messages are being sent, that is within a commit's time; when
	// none are, within recordLinger. Committing it at once would add a
	// commit for every write.
	rc.riders = append(rc.riders, rd)
	rc.mu.Unlock()
	rc.poke()
	select {
	case <-rd.done:
		return rd.err
	case <-ctx.Done():
		// It may still be written; the caller has gone either way.
		return ctx.Err()
	}
}

// A rider is a write handed to ride on SQLite.
type rider struct {
	fn   func(ctx context.Context, tx *Tx) error
	err  error
	done chan struct{}
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
	riders  []*rider     // writes to commit with the next group (see DB.ride)
	writing int          // outcomes being written now
	groups  atomic.Int64 // groups taken to be written, for tests
	wanted  bool         // someone waits on a pending outcome
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
	var since time.Time        // when the oldest pending outcome or rider arrived
	var lastOutcomes time.Time // when outcomes were last written
	for {
		select {
		case <-rc.wake:
		case <-linger.C:
		}
		rc.mu.Lock()
		n, closed := len(rc.pending), rc.closed
		if n+len(rc.riders) == 0 {
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
		// Riders alone linger only while messages are being sent, for
		// the next outcomes; otherwise they would wait for nothing.
		sending := n > 0 || time.Since(lastOutcomes) < recordLinger
		if wait := recordLinger - time.Since(since); sending && !rc.wanted && !closed && n < max(db.RecordGroup, 1) && wait > 0 {
			rc.mu.Unlock()
			linger.Reset(wait)
			continue
		}
		batch, riders := rc.pending, rc.riders
		rc.pending, rc.riders, rc.wanted, since, rc.writing = nil, nil, false, time.Time{}, len(batch)
		rc.mu.Unlock()
		linger.Stop()
		rc.groups.Add(1)
		if len(riders) > 0 {
			db.commitRiding(rc.ctx, batch, riders)
		} else {
			db.commitRecords(rc.ctx, batch)
		}
		if len(batch) > 0 {
			lastOutcomes = time.Now()
		}
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
	left, riders, writing := rc.pending, rc.riders, rc.writing
	rc.pending, rc.riders = nil, nil
	rc.mu.Unlock()
	for _, r := range left {
		r.finish(false, fmt.Errorf("record delivery: %w", ErrClosed))
	}
	for _, rd := range riders {
		rd.err = ErrClosed
		close(rd.done)
	}
	return fmt.Errorf("stop recording: %d outcomes and %d other writes not written, %d outcomes more abandoned mid-write: %w",
		len(left), len(riders), writing, ctx.Err())
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
	j, err := db.journalConn(ctx)
	if err != nil {
		return nil, err
	}
	held, err := j.appendOutcomes(ctx, chunk, db.nowMS(), false)
	if err != nil {
		db.closeJournal() // a fresh connection for the next group
	}
	return held, err
}

// journalConn is the recorder's connection, opened on first use and again
// after it failed.
func (db *DB) journalConn(ctx context.Context) (*journalConn, error) {
	if db.journal == nil {
		j, err := openJournalConn(ctx, db.db)
		if err != nil {
			return nil, err
		}
		db.journal = j
	}
	return db.journal, nil
}

// commitRiding writes riders and the outcomes in batch in one transaction
// on the recorder's connection (SQLite only; see DB.ride): each rider in a
// savepoint of its own, then the outcomes a chunk at a time, as
// appendRecords writes them. A failed begin, savepoint, outcome or commit
// fails them all: nothing was written.
func (db *DB) commitRiding(ctx context.Context, batch []*Recording, riders []*rider) {
	held := make([]bool, len(batch))
	unlock := db.lockWrites()
	err := db.writeRiding(ctx, batch, riders, held)
	if err != nil {
		db.closeJournal() // a fresh connection for the next group
	}
	unlock()
	for _, rd := range riders {
		if err != nil {
			rd.err = err
		}
		close(rd.done)
	}
	for i, r := range batch {
		r.finish(held[i], err)
	}
}

// writeRiding is commitRiding's transaction. It sets each rider's error
// and whether each outcome's lease held, and returns an error that fails
// them all.
func (db *DB) writeRiding(ctx context.Context, batch []*Recording, riders []*rider, held []bool) error {
	j, err := db.journalConn(ctx)
	if err != nil {
		return err
	}
	if _, err := j.begin.ExecContext(ctx); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	fail := func(err error) error {
		_, rerr := j.rollbk.ExecContext(ctx)
		return errors.Join(err, rerr)
	}
	tx := &Tx{conn: j, db: db}
	for _, rd := range riders {
		if err := j.savepoint(ctx); err != nil {
			return fail(fmt.Errorf("savepoint: %w", err))
		}
		if rd.err = rd.fn(ctx, tx); rd.err != nil {
			if err := j.rollbackTo(ctx); err != nil {
				return fail(fmt.Errorf("undo a failed write: %w", err))
			}
			continue
		}
		if err := j.release(ctx); err != nil {
			return fail(fmt.Errorf("release savepoint: %w", err))
		}
	}
	now := db.nowMS()
	for start := 0; start < len(batch); start += maxGroupInsert {
		chunk := batch[start:min(len(batch), start+maxGroupInsert)]
		h, err := j.appendOutcomes(ctx, chunk, now, true)
		if err != nil {
			// Some errors (a full disk) end the transaction: what
			// followed would be written outside it.
			return fail(err)
		}
		copy(held[start:], h)
	}
	if _, err := j.commit.ExecContext(ctx); err != nil {
		return fail(fmt.Errorf("commit: %w", err))
	}
	return nil
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
