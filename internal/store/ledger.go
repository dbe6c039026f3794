package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ledger is the one door through which the deliveries table is read. On
// SQLite a row's outcome may still sit in the journal (see outcomes.go),
// where the row reads as queued: the door folds the journal first, so no
// read can forget to. Its queries name the table {deliveries}, which the
// door fills in. TestLedgerReadsGoThroughTheDoor keeps every read of the
// table behind it.
type ledger struct {
	q     querier
	db    *DB
	table string // what {deliveries} stands for
	// unfolded is how many journalled outcomes the fold could not write;
	// the reads then merge them into the rows they belong to.
	unfolded int64
}

// querier is what both *sql.DB and *sql.Tx read with.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ledger folds the journal and opens the door for reads outside a
// transaction. A fold that fails — the disk full, the database read-only —
// does not stop a read: the rows are read merged with the journal instead,
// which is what the fold would have written, and unfolded says how many
// outcomes that took.
func (db *DB) ledger(ctx context.Context) (*ledger, error) {
	l := &ledger{q: db.db, db: db, table: "deliveries"}
	ferr := db.foldOutcomes(ctx)
	if ferr == nil {
		return l, nil
	}
	if ctx.Err() != nil {
		return nil, ferr
	}
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM outcomes`).Scan(&l.unfolded); err != nil {
		return nil, errors.Join(ferr, fmt.Errorf("count journalled outcomes: %w", err))
	}
	l.table = mergedLedger
	return l, nil
}

// ledger folds the journal in tx and opens the door for tx's reads. A
// transaction writes, so a fold that fails fails it.
func (tx *Tx) ledger(ctx context.Context) (*ledger, error) {
	if err := tx.fold(ctx); err != nil {
		return nil, err
	}
	return &ledger{q: tx.tx, db: tx.db, table: "deliveries"}, nil
}

// mergedLedger is the deliveries table as the fold of the journal would
// leave it (outcomes.go's fold, column for column), for reading without
// writing. Bounces counted against subscribers are not merged.
const mergedLedger = `(SELECT d.id AS id, d.kind AS kind, d.source_id AS source_id, d.recipient AS recipient,
	d.subscriber_id AS subscriber_id, d.batch AS batch, COALESCE(o.state, d.state) AS state,
	d.attempts + CASE WHEN o.delivery_id IS NULL THEN 0 ELSE 1 - o.unanswered END AS attempts,
	d.unanswered + COALESCE(o.unanswered, 0) AS unanswered,
	COALESCE(o.reply, d.last_reply) AS last_reply, COALESCE(o.message_id, d.message_id) AS message_id,
	CASE WHEN o.delivery_id IS NULL THEN d.sent_at WHEN o.state = 'sent' THEN o.at END AS sent_at,
	CASE WHEN o.delivery_id IS NULL THEN d.done_at WHEN o.state <> 'queued' THEN o.at END AS done_at,
	COALESCE(o.next_attempt_at, d.next_attempt_at) AS next_attempt_at, d.created_at AS created_at
	FROM deliveries d LEFT JOIN outcomes o ON o.delivery_id = d.id)`

// sql fills in the engine's placeholders and what {deliveries} stands for.
func (l *ledger) sql(query string) string {
	return l.db.q(strings.ReplaceAll(query, "{deliveries}", l.table))
}

// read reads the ledger; the query names the table {deliveries}.
func (l *ledger) read(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return l.q.QueryContext(ctx, l.sql(query), args...)
}

// readRow reads one row of the ledger; the query names the table {deliveries}.
func (l *ledger) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	return l.q.QueryRowContext(ctx, l.sql(query), args...)
}
