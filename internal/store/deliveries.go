package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"
)

// Delivery states.
const (
	DeliveryQueued     = "queued"     // waiting for a send task (maybe until next_attempt_at)
	DeliverySending    = "sending"    // leased by a sender; reclaimed when the lease expires
	DeliverySent       = "sent"       // the SMTP server answered 250 (or the outbox has it)
	DeliveryFailed     = "failed"     // permanent failure, reply recorded
	DeliverySuppressed = "suppressed" // the recipient was no longer eligible at send time
)

// Claimed is a ledger row leased to one sender.
type Claimed struct {
	ID           int64
	Recipient    string
	SubscriberID int64
	Attempts     int // including this one
}

// Claim leases every row of batch b that is due to be sent — queued and past its
// next attempt time, or leased by someone whose lease has expired — to owner
// until leaseUntil, and returns them in ID order.
func (db *DB) Claim(ctx context.Context, b BatchRef, owner string, leaseUntil time.Time) ([]Claimed, error) {
	now := db.nowMS()
	var out []Claimed
	err := db.tx(ctx, func(tx *Tx) error {
		if err := tx.fold(ctx); err != nil {
			return err
		}
		rows, err := tx.query(ctx, `UPDATE deliveries SET state = 'sending', lease_owner = ?, lease_until = ?, attempts = attempts + 1
			WHERE kind = ? AND source_id = ? AND batch = ?
			AND ((state = 'queued' AND next_attempt_at <= ?) OR (state = 'sending' AND lease_until < ?))
			RETURNING id, recipient, COALESCE(subscriber_id, 0), attempts`,
			owner, leaseUntil.UnixMilli(), b.Kind, b.SourceID, b.Batch, now, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Claimed
			if err := rows.Scan(&c.ID, &c.Recipient, &c.SubscriberID, &c.Attempts); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim %v: %w", b, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID }) // RETURNING has no order
	return out, nil
}

// RenewLease extends owner's lease on its rows of batch b and returns how
// many it holds. Lease queries name their batch, so they use the batch index
// and never scan the ledger.
func (db *DB) RenewLease(ctx context.Context, b BatchRef, owner string, until time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *Tx) error {
		if err := tx.fold(ctx); err != nil { // rows with outcomes are no longer held
			return err
		}
		res, err := tx.exec(ctx, `UPDATE deliveries SET lease_until = ?
			WHERE kind = ? AND source_id = ? AND batch = ? AND state = 'sending' AND lease_owner = ?`,
			until.UnixMilli(), b.Kind, b.SourceID, b.Batch, owner)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("renew lease: %w", err)
	}
	return n, nil
}

// ReleaseLease puts owner's unfinished rows of batch b back in the queue, due
// at next (at once when next is zero). They were never tried, so their
// attempt does not count.
func (db *DB) ReleaseLease(ctx context.Context, b BatchRef, owner string, next time.Time) (int64, error) {
	return db.release(ctx, `kind = ? AND source_id = ? AND batch = ? AND lease_owner = ?`, next,
		b.Kind, b.SourceID, b.Batch, owner)
}

// ReleaseOwner puts back every unfinished row of owner, a sender that died.
func (db *DB) ReleaseOwner(ctx context.Context, owner string) (int64, error) {
	return db.release(ctx, `state IN ('queued', 'sending') AND lease_owner = ?`, time.Time{}, owner)
}

func (db *DB) release(ctx context.Context, where string, next time.Time, args ...any) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *Tx) error {
		if err := tx.fold(ctx); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE deliveries SET state = 'queued', lease_owner = '', lease_until = NULL,
			attempts = attempts - 1, next_attempt_at = CASE WHEN ? > next_attempt_at THEN ? ELSE next_attempt_at END
			WHERE state = 'sending' AND `+where, append([]any{next.UnixMilli(), next.UnixMilli()}, args...)...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("release lease: %w", err)
	}
	return n, nil
}

// BatchDue returns the earliest next attempt among b's queued rows, and false
// when it has none.
func (db *DB) BatchDue(ctx context.Context, b BatchRef) (time.Time, bool, error) {
	var due sql.NullInt64
	err := db.queryRow(ctx, `SELECT MIN(next_attempt_at) FROM deliveries
		WHERE kind = ? AND source_id = ? AND batch = ? AND state = 'queued'`, b.Kind, b.SourceID, b.Batch).Scan(&due)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("batch due: %w", err)
	}
	return time.UnixMilli(due.Int64).UTC(), due.Valid, nil
}

// LeaseOwners lists the owners currently holding rows in state sending.
func (db *DB) LeaseOwners(ctx context.Context) ([]string, error) {
	rows, err := db.query(ctx, `SELECT DISTINCT lease_owner FROM deliveries
		WHERE state IN ('queued', 'sending') AND state = 'sending'`)
	if err != nil {
		return nil, fmt.Errorf("lease owners: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Outcome is what happened to one claimed row.
type Outcome struct {
	ID        int64
	State     string    // sent, failed, suppressed, or queued (retry at Next)
	Reply     string    // the SMTP server's reply, or why
	MessageID string    // with sent
	Next      time.Time // with queued
	Bounce    bool      // with failed: count a bounce against the subscriber
}

// OpenBatch is a batch with work left: rows queued, or leased past expiry.
type OpenBatch struct {
	BatchRef
	Due time.Time // when its earliest row became due (zero for an expired lease)
}

// OpenBatches lists batches with rows still to send, for the reconciler. The
// IN clause lets SQLite use the partial index of open rows instead of
// scanning every delivery ever made.
func (db *DB) OpenBatches(ctx context.Context) ([]OpenBatch, error) {
	if err := db.foldOutcomes(ctx); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT kind, source_id, batch,
		MIN(CASE WHEN state <> 'queued' THEN 0 WHEN next_attempt_at > created_at THEN next_attempt_at ELSE created_at END)
		FROM deliveries WHERE state IN ('queued', 'sending') AND (state = 'queued' OR lease_until < ?)
		GROUP BY kind, source_id, batch ORDER BY kind, source_id, batch`, db.nowMS())
	if err != nil {
		return nil, fmt.Errorf("open batches: %w", err)
	}
	defer rows.Close()
	var out []OpenBatch
	for rows.Next() {
		var b OpenBatch
		var due int64
		if err := rows.Scan(&b.Kind, &b.SourceID, &b.Batch, &due); err != nil {
			return nil, err
		}
		b.Due = time.UnixMilli(due).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// Delivery is a ledger row as `status` and tests see it.
type Delivery struct {
	ID        int64
	Kind      string
	SourceID  int64
	Recipient string
	Batch     int64
	State     string
	Attempts  int
	LastReply string
	MessageID string
	SentAt    time.Time
}

// Deliveries lists the ledger rows of (kind, sourceID) in ID order.
func (db *DB) Deliveries(ctx context.Context, kind string, sourceID int64) ([]Delivery, error) {
	if err := db.foldOutcomes(ctx); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT id, kind, source_id, recipient, batch, state, attempts, last_reply, message_id, sent_at
		FROM deliveries WHERE kind = ? AND source_id = ? ORDER BY id`, kind, sourceID)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var sent sql.NullInt64
		if err := rows.Scan(&d.ID, &d.Kind, &d.SourceID, &d.Recipient, &d.Batch, &d.State, &d.Attempts,
			&d.LastReply, &d.MessageID, &sent); err != nil {
			return nil, err
		}
		d.SentAt = fromMS(sent)
		out = append(out, d)
	}
	return out, rows.Err()
}

// inList returns "(?, ?, …)" and the arguments for a list of IDs.
func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return "(" + placeholders(len(ids)) + ")", args
}
