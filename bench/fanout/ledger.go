package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// seed writes n active subscribers of the posts topic in one transaction,
// straight into the tables `practicemail migrate` made: store.AddSubscriber
// takes a transaction per person, which at 100k would take longer than the
// fan-out being measured.
func seed(ctx context.Context, dbPath string, n int) (time.Duration, error) {
	start := time.Now()
	db, err := sql.Open("sqlite", sqliteDSN(dbPath, false))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	defer tx.Rollback()
	sub, err := tx.PrepareContext(ctx, `INSERT INTO subscribers (id, email, name, status, consent_source,
		consent_at, confirmed_at, created_at, updated_at) VALUES (?, ?, ?, 'active', 'bench', ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	topic, err := tx.PrepareContext(ctx, `INSERT INTO subscriber_topics (topic, subscriber_id) VALUES ('posts', ?)`)
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	now := time.Now().UnixMilli()
	for i := range n {
		id := int64(i + 1)
		if _, err := sub.ExecContext(ctx, id, subscriberEmail(i), subscriberName(i), now, now, now, now); err != nil {
			return 0, fmt.Errorf("seed subscriber %d: %w", i, err)
		}
		if _, err := topic.ExecContext(ctx, id); err != nil {
			return 0, fmt.Errorf("seed topic %d: %w", i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	return time.Since(start), nil
}

func sqliteDSN(path string, readOnly bool) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	if readOnly {
		v.Set("mode", "ro")
	}
	return "file:" + path + "?" + v.Encode()
}

// ledger is the bench's read-only view of the child's database.
type ledger struct{ db *sql.DB }

func openLedger(path string) (*ledger, error) {
	db, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &ledger{db: db}, nil
}

func (l *ledger) Close() error { return l.db.Close() }

// baselined reports whether the first poll has recorded the feed's items.
func (l *ledger) baselined(ctx context.Context) (bool, error) {
	var done int
	err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM feeds WHERE baselined = 1`).Scan(&done)
	return done == 1, err
}

// finished reports whether the fan-out is complete and no row of it is
// left queued or sending (sign-ups' confirmations, which a load run adds,
// are not the fan-out's). Both questions are answered from small tables and
// the first entry of the partial index on open rows, so asking every 100 ms
// costs the machine little. (A COUNT of the open rows read every one of
// them, and on PostgreSQL, whose statistics of the ledger date from before
// the fan-out, every row of the ledger: 300 scans of up to 100,000 rows in
// a run of 100,000, on the two cores the run is measured on.)
func (l *ledger) finished(ctx context.Context) (bool, error) {
	var done int
	var open bool
	err := l.db.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT MAX(done) FROM fanouts WHERE kind = 'post'), 0),
		EXISTS (SELECT 1 FROM deliveries WHERE state IN ('queued', 'sending') AND kind = 'post')`).Scan(&done, &open)
	return done == 1 && !open, err
}

// drained reports whether no delivery of any kind is left queued or
// sending: every confirmation of a burst of sign-ups has gone.
func (l *ledger) drained(ctx context.Context) (bool, error) {
	var open bool
	err := l.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE state IN ('queued', 'sending'))`).Scan(&open)
	return !open, err
}

// summarise checks that every subscriber got exactly one sent row of kind
// (post, campaign) and reads the run's span from the ledger's own
// timestamps: the first row's creation (the fan-out's first page, the
// campaign's start) to the last row's sent_at (the server's 250).
func (l *ledger) summarise(kind string, n int, res *pmResult, served time.Time) error {
	var rows, sent int
	var first, last int64
	// kind (post or campaign) is a literal: a placeholder differs by engine.
	err := l.db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0),
		COALESCE(MIN(created_at), 0), COALESCE(MAX(sent_at), 0) FROM deliveries WHERE kind = '`+kind+`'`).Scan(&rows, &sent, &first, &last)
	if err != nil {
		return fmt.Errorf("read the ledger: %w", err)
	}
	if rows != n || sent != n {
		return fmt.Errorf("ledger has %d rows, %d sent; want %d sent", rows, sent, n)
	}
	res.elapsed = time.Duration(last-first) * time.Millisecond
	res.first, res.last = time.UnixMilli(first), time.UnixMilli(last)
	if !served.IsZero() {
		res.latency = time.UnixMilli(last).Sub(served)
	}
	return nil
}
