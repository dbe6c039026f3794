package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Counts is the whole database summarised for `status`.
type Counts struct {
	Subscribers map[string]int64 `json:"subscribers"` // by status
	Posts       map[string]int64 `json:"posts"`       // by state
	Deliveries  map[string]int64 `json:"deliveries"`  // by state
	// Unfolded is how many of the deliveries' outcomes are still in the
	// journal because writing them to their rows failed (a full disk, a
	// read-only database): they are counted, but bounces they carry are
	// not yet counted against subscribers.
	Unfolded int64 `json:"unfolded_outcomes,omitempty"`
}

// Counts summarises subscribers, posts and deliveries by state.
func (db *DB) Counts(ctx context.Context) (*Counts, error) {
	l, err := db.ledger(ctx)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	c := &Counts{Unfolded: l.unfolded}
	if c.Subscribers, err = countBy(db.query(ctx, `SELECT status, COUNT(*) FROM subscribers GROUP BY status`)); err != nil {
		return nil, fmt.Errorf("count subscribers: %w", err)
	}
	if c.Posts, err = countBy(db.query(ctx, `SELECT state, COUNT(*) FROM posts GROUP BY state`)); err != nil {
		return nil, fmt.Errorf("count posts: %w", err)
	}
	if c.Deliveries, err = countBy(l.read(ctx, `SELECT d.state, COUNT(*) FROM {deliveries} d GROUP BY d.state`)); err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	// Rows being sent are queued rows in a batch whose lease is live.
	var sending int64
	if err := l.readRow(ctx, `SELECT COUNT(*) FROM {deliveries} d JOIN batch_leases bl
		ON bl.kind = d.kind AND bl.source_id = d.source_id AND bl.batch = d.batch
		WHERE d.state IN ('queued', 'sending') AND d.state = 'queued' AND bl.owner <> '' AND bl.expires_at >= ?`,
		db.nowMS()).Scan(&sending); err != nil {
		return nil, fmt.Errorf("count deliveries being sent: %w", err)
	}
	if sending > 0 {
		c.Deliveries[DeliveryQueued] -= sending
		c.Deliveries[DeliverySending] = sending
	}
	return c, nil
}

// countBy reads rows of (key, count) into a map.
func countBy(rows *sql.Rows, err error) (map[string]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]int64)
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// PostProgress is how far the sending of one post has come.
type PostProgress struct {
	PostID     int64  `json:"post_id"`
	Title      string `json:"title"`
	Sent       int64  `json:"sent"`
	Failed     int64  `json:"failed"`
	Suppressed int64  `json:"suppressed"`
	ToGo       int64  `json:"to_go"`        // queued: being sent, due, or waiting to retry
	FanOutDone bool   `json:"fan_out_done"` // every recipient is in the ledger
}

// Recipients is how many ledger rows the post has so far.
func (p PostProgress) Recipients() int64 { return p.Sent + p.Failed + p.Suppressed + p.ToGo }

// Sending lists the posts still being sent: fanning out, or with ledger rows
// not yet sent, in post ID order.
func (db *DB) Sending(ctx context.Context) ([]PostProgress, error) {
	l, err := db.ledger(ctx)
	if err != nil {
		return nil, fmt.Errorf("posts being sent: %w", err)
	}
	rows, err := l.read(ctx, `SELECT p.id, p.title, COALESCE(f.done, 0), COALESCE(d.state, ''), COUNT(d.id)
		FROM posts p
		LEFT JOIN fanouts f ON f.kind = ? AND f.source_id = p.id
		LEFT JOIN {deliveries} d ON d.kind = ? AND d.source_id = p.id
		WHERE p.state = ? OR p.id IN (SELECT o.source_id FROM {deliveries} o
			WHERE o.state IN ('queued', 'sending') AND o.kind = ?)
		GROUP BY p.id, p.title, f.done, d.state ORDER BY p.id`,
		KindPost, KindPost, PostSending, KindPost)
	if err != nil {
		return nil, fmt.Errorf("posts being sent: %w", err)
	}
	defer rows.Close()
	var out []PostProgress
	for rows.Next() {
		var id, n int64
		var title, state string
		var done int
		if err := rows.Scan(&id, &title, &done, &state, &n); err != nil {
			return nil, fmt.Errorf("posts being sent: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].PostID != id {
			out = append(out, PostProgress{PostID: id, Title: title})
		}
		p := &out[len(out)-1]
		// A post whose fan-out row is missing has not started it.
		p.FanOutDone = done != 0
		switch state {
		case DeliverySent:
			p.Sent = n
		case DeliveryFailed:
			p.Failed = n
		case DeliverySuppressed:
			p.Suppressed = n
		case DeliveryQueued, DeliverySending:
			p.ToGo += n
		}
	}
	return out, rows.Err()
}
