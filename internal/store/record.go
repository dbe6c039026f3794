package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Record stores the outcome of one row, only if owner still holds its lease. It
// reports false when the lease was lost, in which case nothing was written.
//
// Senders call it once per message, right after the server's reply, and wait
// for it before their next message. Outcomes arriving together are committed
// in one transaction (group commit) by the first sender to arrive, the
// leader, while the others wait for it; a sender alone commits its own
// outcome at once, with no hand-off to another goroutine. Each sender has at
// most one outcome outstanding, so a leader's work is bounded.
func (db *DB) Record(ctx context.Context, owner string, o Outcome) (bool, error) {
	req := &recordReq{owner: owner, o: o, done: make(chan recordRes, 1)}
	rc := &db.recording
	rc.mu.Lock()
	if rc.closed {
		rc.mu.Unlock()
		return false, errors.New("record delivery: database closed")
	}
	rc.pending = append(rc.pending, req)
	if !rc.leading {
		rc.leading = true
		for len(rc.pending) > 0 {
			batch := rc.pending
			rc.pending = nil
			rc.mu.Unlock()
			db.commitRecords(batch)
			rc.mu.Lock()
		}
		rc.leading = false
	}
	rc.mu.Unlock()
	r := <-req.done
	return r.held, r.err
}

// recording is the state of Record's group commit.
type recording struct {
	mu      sync.Mutex
	pending []*recordReq
	leading bool // a sender is committing
	closed  bool
}

type recordReq struct {
	owner string
	o     Outcome
	done  chan recordRes
}

type recordRes struct {
	held bool
	err  error
}

func (db *DB) commitRecords(batch []*recordReq) {
	held := make([]bool, len(batch))
	ctx := context.Background()
	if len(batch) == 1 && !batch[0].o.Bounce {
		// Alone, an outcome needs no transaction of ours: autocommit skips
		// a BEGIN and a COMMIT statement.
		r := batch[0]
		st, err := db.recordStmt(ctx)
		if err == nil {
			unlock := db.lockWrites()
			held[0], err = recordWith(st, r.owner, r.o, db.nowMS())
			unlock()
		}
		r.done <- recordRes{held: held[0] && err == nil, err: err}
		return
	}
	err := db.tx(ctx, func(tx *Tx) error {
		st, err := db.recordStmt(ctx)
		if err != nil {
			return err
		}
		update := tx.tx.StmtContext(ctx, st)
		now := db.nowMS()
		for i, r := range batch {
			ok, err := tx.record(update, r.owner, r.o, now)
			if err != nil {
				return fmt.Errorf("record delivery %d: %w", r.o.ID, err)
			}
			held[i] = ok
		}
		return nil
	})
	for i, r := range batch {
		r.done <- recordRes{held: held[i] && err == nil, err: err}
	}
}

// recordUpdate writes one outcome; prepared once, it runs once per message.
const recordUpdate = `UPDATE deliveries SET state = ?, last_reply = ?, message_id = ?, sent_at = ?,
	next_attempt_at = ?, lease_owner = '', lease_until = NULL
	WHERE id = ? AND lease_owner = ? AND state = 'sending'`

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

// recordWith writes one outcome with the prepared UPDATE.
func recordWith(update *sql.Stmt, owner string, o Outcome, now int64) (bool, error) {
	var sentAt sql.NullInt64
	if o.State == DeliverySent {
		sentAt = sql.NullInt64{Int64: now, Valid: true}
	}
	res, err := update.Exec(o.State, o.Reply, o.MessageID, sentAt, o.Next.UnixMilli(), o.ID, owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (tx *Tx) record(update *sql.Stmt, owner string, o Outcome, now int64) (bool, error) {
	if held, err := recordWith(update, owner, o, now); err != nil || !held {
		return false, err
	}
	if o.Bounce {
		_, err := tx.exec(context.Background(), `UPDATE subscribers SET bounces = bounces + 1, updated_at = ?,
			status = CASE WHEN bounces + 1 >= ? AND status = 'active' THEN 'bounced' ELSE status END
			WHERE id = (SELECT subscriber_id FROM deliveries WHERE id = ?)`, now, BounceLimit, o.ID)
		if err != nil {
			return true, fmt.Errorf("count bounce: %w", err)
		}
	}
	return true, nil
}

// BounceLimit is how many permanent failures suppress an address.
const BounceLimit = 3
