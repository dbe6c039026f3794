package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Delivery states.
const (
	DeliveryQueued     = "queued"     // waiting to be sent (maybe until next_attempt_at), or being sent
	DeliverySending    = "sending"    // in counts only: queued in a batch a sender holds
	DeliverySent       = "sent"       // the SMTP server answered 250 (or the outbox has it)
	DeliveryFailed     = "failed"     // permanent failure, reply recorded
	DeliverySuppressed = "suppressed" // the recipient was no longer eligible at send time
	// DeliveryUnknown: the message went out twice and the server answered
	// neither final dot; it may have been delivered, so it is not sent
	// again. last_reply says why.
	DeliveryUnknown = "unknown"
)

// Claimed is a ledger row leased to one sender.
type Claimed struct {
	ID           int64
	Recipient    string
	SubscriberID int64
	Attempts     int // including this one
	// Unanswered counts earlier sends whose final dot the server never
	// answered: each may have been delivered.
	Unanswered int
}

// Claim takes the lease on batch b for owner until leaseUntil — if nobody
// holds it, or its holder's lease has expired — and returns the batch's
// rows that are due to be sent (queued, and past their next attempt time),
// in ID order. Without the lease, or with nothing due, it returns no rows
// and holds nothing.
//
// A lease is one row of batch_leases: the delivery rows stay queued while
// they are sent, and each leaves the queue when its outcome is written.
// Claimed.Attempts counts this attempt; the ledger counts it once an
// outcome is written, so a row whose sender died untried has not used one.
func (db *DB) Claim(ctx context.Context, b BatchRef, owner string, leaseUntil time.Time) ([]Claimed, error) {
	now := db.nowMS()
	var out []Claimed
	err := db.tx(ctx, func(tx *Tx) error {
		l, err := tx.ledger(ctx)
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `INSERT INTO batch_leases (kind, source_id, batch, owner, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (kind, source_id, batch) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE batch_leases.owner = '' OR batch_leases.expires_at < ?`,
			b.Kind, b.SourceID, b.Batch, owner, leaseUntil.UnixMilli(), now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // someone else holds it
		}
		rows, err := l.read(ctx, `SELECT id, recipient, COALESCE(subscriber_id, 0), attempts + 1, unanswered FROM {deliveries} d
			WHERE kind = ? AND source_id = ? AND batch = ? AND state = 'queued' AND next_attempt_at <= ?
			ORDER BY id`, b.Kind, b.SourceID, b.Batch, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Claimed
			if err := rows.Scan(&c.ID, &c.Recipient, &c.SubscriberID, &c.Attempts, &c.Unanswered); err != nil {
				return err
			}
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			_, err := tx.unlease(ctx, b, owner)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim %v: %w", b, err)
	}
	return out, nil
}

// unlease gives up owner's lease on b, and reports whether owner held it.
func (tx *Tx) unlease(ctx context.Context, b BatchRef, owner string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE batch_leases SET owner = '', expires_at = 0
		WHERE kind = ? AND source_id = ? AND batch = ? AND owner = ?`, b.Kind, b.SourceID, b.Batch, owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// dueIn counts b's rows that are queued and due.
func (l *ledger) dueIn(ctx context.Context, b BatchRef) (int64, error) {
	var n int64
	err := l.readRow(ctx, `SELECT COUNT(*) FROM {deliveries} d
		WHERE kind = ? AND source_id = ? AND batch = ? AND state = 'queued' AND next_attempt_at <= ?`,
		b.Kind, b.SourceID, b.Batch, l.db.nowMS()).Scan(&n)
	return n, err
}

// RenewLease extends owner's lease on batch b to until and returns how many
// of the batch's rows are still due: 0 when owner no longer holds the lease.
func (db *DB) RenewLease(ctx context.Context, b BatchRef, owner string, until time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *Tx) error {
		l, err := tx.ledger(ctx) // rows with outcomes are no longer due
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE batch_leases SET expires_at = ?
			WHERE kind = ? AND source_id = ? AND batch = ? AND owner = ?`,
			until.UnixMilli(), b.Kind, b.SourceID, b.Batch, owner)
		if err != nil {
			return err
		}
		if held, err := res.RowsAffected(); err != nil || held == 0 {
			return err
		}
		n, err = l.dueIn(ctx, b)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("renew lease: %w", err)
	}
	return n, nil
}

// ReleaseLease gives up owner's lease on batch b, after writing every
// outcome recorded under it, and returns how many of its rows are still
// due. A non-zero next delays the batch's unsent rows until then (a mail
// server outage).
func (db *DB) ReleaseLease(ctx context.Context, b BatchRef, owner string, next time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		n, err = tx.release(ctx, b, owner, next)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("release lease: %w", err)
	}
	return n, nil
}

// ReleaseOwner gives up every lease of owner, a sender that died, and
// returns how many rows of its batches are due.
func (db *DB) ReleaseOwner(ctx context.Context, owner string) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT kind, source_id, batch FROM batch_leases WHERE owner = ?`, owner)
		if err != nil {
			return err
		}
		var held []BatchRef
		for rows.Next() {
			var b BatchRef
			if err := rows.Scan(&b.Kind, &b.SourceID, &b.Batch); err != nil {
				rows.Close()
				return err
			}
			held = append(held, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, b := range held {
			due, err := tx.release(ctx, b, owner, time.Time{})
			if err != nil {
				return err
			}
			n += due
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("release leases of %s: %w", owner, err)
	}
	return n, nil
}

func (tx *Tx) release(ctx context.Context, b BatchRef, owner string, next time.Time) (int64, error) {
	l, err := tx.ledger(ctx)
	if err != nil {
		return 0, err
	}
	if held, err := tx.unlease(ctx, b, owner); err != nil || !held {
		return 0, err
	}
	if !next.IsZero() {
		if _, err := tx.exec(ctx, `UPDATE deliveries SET next_attempt_at = ?
			WHERE kind = ? AND source_id = ? AND batch = ? AND state = 'queued' AND next_attempt_at < ?`,
			next.UnixMilli(), b.Kind, b.SourceID, b.Batch, next.UnixMilli()); err != nil {
			return 0, err
		}
	}
	return l.dueIn(ctx, b)
}

// BatchDue returns the earliest next attempt among b's queued rows, and false
// when it has none.
func (db *DB) BatchDue(ctx context.Context, b BatchRef) (time.Time, bool, error) {
	var due sql.NullInt64
	l, err := db.ledger(ctx)
	if err == nil {
		err = l.readRow(ctx, `SELECT MIN(next_attempt_at) FROM {deliveries} d
		WHERE kind = ? AND source_id = ? AND batch = ? AND state = 'queued'`, b.Kind, b.SourceID, b.Batch).Scan(&due)
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("batch due: %w", err)
	}
	return time.UnixMilli(due.Int64).UTC(), due.Valid, nil
}

// LeaseOwners lists the owners holding leases, live or expired.
func (db *DB) LeaseOwners(ctx context.Context) ([]string, error) {
	rows, err := db.query(ctx, `SELECT DISTINCT owner FROM batch_leases WHERE owner <> '' ORDER BY owner`)
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
	State     string    // sent, failed, suppressed, unknown, or queued (retry at Next)
	Reply     string    // the SMTP server's reply, or why
	MessageID string    // with sent
	Next      time.Time // with queued
	Bounce    bool      // with failed: count a bounce against the subscriber
	// Unanswered says the message went out and the server never answered
	// its final dot (with queued, or unknown): it may have been delivered.
	// Like an outage, it charges the recipient no attempt.
	Unanswered bool
}

// OpenBatch is a batch with work left: rows queued, or leased past expiry.
type OpenBatch struct {
	BatchRef
	Due time.Time // when its earliest row became due (zero for an expired lease)
}

// OpenBatches lists batches with rows still to send and no live lease, for
// the reconciler. The IN clause lets SQLite use the partial index of open
// rows instead of scanning every delivery ever made.
func (db *DB) OpenBatches(ctx context.Context) ([]OpenBatch, error) {
	l, err := db.ledger(ctx)
	if err != nil {
		return nil, fmt.Errorf("open batches: %w", err)
	}
	rows, err := l.read(ctx, `SELECT d.kind, d.source_id, d.batch,
		MIN(CASE WHEN bl.owner <> '' THEN 0 WHEN d.next_attempt_at > d.created_at THEN d.next_attempt_at ELSE d.created_at END)
		FROM {deliveries} d LEFT JOIN batch_leases bl ON bl.kind = d.kind AND bl.source_id = d.source_id AND bl.batch = d.batch
		WHERE d.state IN ('queued', 'sending') AND d.state = 'queued'
		AND (bl.owner IS NULL OR bl.owner = '' OR bl.expires_at < ?)
		GROUP BY d.kind, d.source_id, d.batch ORDER BY d.kind, d.source_id, d.batch`, db.nowMS())
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
	l, err := db.ledger(ctx)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	rows, err := l.read(ctx, `SELECT id, kind, source_id, recipient, batch, state, attempts, last_reply, message_id, sent_at
		FROM {deliveries} d WHERE kind = ? AND source_id = ? ORDER BY id`, kind, sourceID)
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
