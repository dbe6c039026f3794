package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Counts is the whole database summarised for `status`.
type Counts struct {
	Subscribers map[string]int64 `json:"subscribers"` // by status; erased rows as "erased"
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
	if c.Subscribers, err = countBy(db.query(ctx, `SELECT CASE WHEN erased_at IS NULL THEN status ELSE ? END, COUNT(*)
		FROM subscribers GROUP BY 1`, StatusErased)); err != nil {
		return nil, fmt.Errorf("count subscribers: %w", err)
	}
	if c.Posts, err = countPosts(ctx, l); err != nil {
		return nil, err
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

// countPosts counts posts by the state a user means: a post is sent once
// every delivery of it is final, and sending until then. The IN clause uses
// the partial index of open deliveries.
func countPosts(ctx context.Context, l *ledger) (map[string]int64, error) {
	rows, err := l.read(ctx, `SELECT CASE WHEN state = ? AND id IN (SELECT d.source_id FROM {deliveries} d
			WHERE d.state IN ('queued', 'sending') AND d.kind = ?) THEN ? ELSE state END AS s, COUNT(*)
		FROM posts GROUP BY 1`, PostSent, KindPost, PostSending)
	if err != nil {
		return nil, fmt.Errorf("count posts: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64)
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("count posts: %w", err)
		}
		out[k] += n
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
	Unknown    int64  `json:"unknown"`      // sent, but the server never answered: maybe delivered
	ToGo       int64  `json:"to_go"`        // queued: being sent, due, or waiting to retry
	FanOutDone bool   `json:"fan_out_done"` // every recipient is in the ledger
}

// Recipients is how many ledger rows the post has so far.
func (p PostProgress) Recipients() int64 {
	return p.Sent + p.Failed + p.Suppressed + p.Unknown + p.ToGo
}

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
		case DeliveryUnknown:
			p.Unknown = n
		case DeliveryQueued, DeliverySending:
			p.ToGo += n
		}
	}
	return out, rows.Err()
}

// FailedPost is a post that could not be rendered, and why.
type FailedPost struct {
	PostID int64     `json:"post_id"`
	Title  string    `json:"title"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// FailedPosts lists the posts that could not be rendered, newest first.
func (db *DB) FailedPosts(ctx context.Context) ([]FailedPost, error) {
	rows, err := db.query(ctx, `SELECT id, title, failure, updated_at FROM posts WHERE state = ?
		ORDER BY updated_at DESC, id DESC`, PostFailed)
	if err != nil {
		return nil, fmt.Errorf("failed posts: %w", err)
	}
	defer rows.Close()
	var out []FailedPost
	for rows.Next() {
		var p FailedPost
		var at int64
		if err := rows.Scan(&p.PostID, &p.Title, &p.Reason, &at); err != nil {
			return nil, fmt.Errorf("failed posts: %w", err)
		}
		p.At = time.UnixMilli(at).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// Failure is one delivery that failed for good, with the reply that said so.
type Failure struct {
	DeliveryID int64     `json:"delivery_id"`
	Kind       string    `json:"kind"`
	SourceID   int64     `json:"source_id"`
	Title      string    `json:"title"` // the post's
	Recipient  string    `json:"recipient"`
	State      string    `json:"state"`       // failed, or unknown: sent twice, answered neither time
	At         time.Time `json:"at,omitzero"` // zero for a failure recorded before failure times were
	Attempts   int       `json:"attempts"`
	Reply      string    `json:"reply"`
}

// Failures lists up to limit deliveries that ended without being sent —
// failed, or unknown (see DeliveryUnknown) — the latest first.
func (db *DB) Failures(ctx context.Context, limit int) ([]Failure, error) {
	l, err := db.ledger(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed deliveries: %w", err)
	}
	rows, err := l.read(ctx, `SELECT d.id, d.kind, d.source_id, COALESCE(p.title, ''), d.recipient, d.state, d.done_at,
			d.attempts, d.last_reply
		FROM {deliveries} d LEFT JOIN posts p ON d.kind = ? AND p.id = d.source_id
		WHERE d.state IN (?, ?) ORDER BY COALESCE(d.done_at, 0) DESC, d.id DESC LIMIT ?`,
		KindPost, DeliveryFailed, DeliveryUnknown, limit)
	if err != nil {
		return nil, fmt.Errorf("failed deliveries: %w", err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var f Failure
		var at sql.NullInt64
		if err := rows.Scan(&f.DeliveryID, &f.Kind, &f.SourceID, &f.Title, &f.Recipient, &f.State, &at,
			&f.Attempts, &f.Reply); err != nil {
			return nil, fmt.Errorf("failed deliveries: %w", err)
		}
		f.At = fromMS(at)
		out = append(out, f)
	}
	return out, rows.Err()
}
