package store

import (
	"context"
	"database/sql"
	"fmt"
)

// On SQLite, outcomes are journalled: Record appends each to the outcomes
// table, and fold applies them to their delivery rows in bulk. Until then a
// row with an outcome still reads as queued, in a batch leased by the
// sender that recorded it. Every read of the deliveries table goes through
// the ledger door (ledger.go), which folds first: Claim (so an outcome's
// row is never sent again), renewing and releasing a lease (so it is not
// counted as due), and every reader of the ledger. A row has at most one
// outcome in the journal: it is recorded only while its sender's lease
// holds, once, and the next claim of the row folds it first.
//
// PostgreSQL updates each delivery row directly; its journal is always
// empty.

// journalled reports whether outcomes go through the journal.
func (db *DB) journalled() bool { return db.dialect.name == "sqlite" }

// fold applies every journalled outcome to its delivery row and empties the
// journal, in tx.
func (tx *Tx) fold(ctx context.Context) error {
	if !tx.db.journalled() {
		return nil
	}
	if empty, err := journalEmpty(tx.queryRow(ctx, journalAny)); err != nil || empty {
		return err
	}
	if err := tx.foldBounces(ctx); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `UPDATE deliveries SET state = o.state, last_reply = o.reply, message_id = o.message_id,
			sent_at = CASE WHEN o.state = 'sent' THEN o.at END, next_attempt_at = o.next_attempt_at,
			done_at = CASE WHEN o.state <> 'queued' THEN o.at END,
			attempts = attempts + 1 - o.unanswered, unanswered = deliveries.unanswered + o.unanswered
		FROM outcomes AS o WHERE o.delivery_id = deliveries.id`); err != nil {
		return fmt.Errorf("fold outcomes: %w", err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM outcomes`); err != nil {
		return fmt.Errorf("fold outcomes: %w", err)
	}
	return nil
}

// foldOutcomes folds the journal in a transaction of its own, taking the
// write lock only when there is something to fold.
func (db *DB) foldOutcomes(ctx context.Context) error {
	if !db.journalled() {
		return nil
	}
	if empty, err := journalEmpty(db.queryRow(ctx, journalAny)); err != nil || empty {
		return err
	}
	return db.tx(ctx, func(tx *Tx) error { return tx.fold(ctx) })
}

const journalAny = `SELECT EXISTS (SELECT 1 FROM outcomes)`

// journalEmpty reads the answer to journalAny.
func journalEmpty(row *sql.Row) (bool, error) {
	var n int
	if err := row.Scan(&n); err != nil {
		return false, fmt.Errorf("fold outcomes: %w", err)
	}
	return n == 0, nil
}

// foldBounces counts the journal's SMTP bounces against their subscribers
// (suppressing at once those whose address is gone: bounce 2, see
// bounceFlag) and stores each as a bounces row. Most folds carry no bounce: one EXISTS
// then spares them both statements.
func (tx *Tx) foldBounces(ctx context.Context) error {
	var some int
	if err := tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outcomes WHERE bounce <> 0)`).Scan(&some); err != nil || some == 0 {
		return err
	}
	now := tx.db.nowMS()
	if _, err := tx.exec(ctx, `UPDATE subscribers SET bounces = bounces + b.n, updated_at = ?,
			status = CASE WHEN (bounces + b.n >= ? OR b.gone > 0) AND status = 'active' THEN 'bounced' ELSE status END
		FROM (SELECT d.subscriber_id AS id, COUNT(*) AS n, SUM(CASE WHEN o.bounce = 2 THEN 1 ELSE 0 END) AS gone
			FROM outcomes o JOIN deliveries d ON d.id = o.delivery_id
			WHERE o.bounce <> 0 AND d.subscriber_id IS NOT NULL GROUP BY d.subscriber_id) AS b
		WHERE subscribers.id = b.id`, now, BounceLimit); err != nil {
		return fmt.Errorf("fold outcomes: count bounces: %w", err)
	}
	if _, err := tx.exec(ctx, smtpBounce+` SELECT d.subscriber_id, d.id, 'hard', '', substr(o.reply, 1, ?), 'smtp', o.at
		FROM outcomes o JOIN deliveries d ON d.id = o.delivery_id
		WHERE o.bounce <> 0 AND d.subscriber_id IS NOT NULL`, maxReason); err != nil {
		return fmt.Errorf("fold outcomes: store bounces: %w", err)
	}
	return nil
}
