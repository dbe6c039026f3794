package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// KindDigest is the ledger kind of a weekly digest; source: digests.id.
const KindDigest = "digest"

// Digest states, as stored.
const (
	DigestEmpty   = "empty"   // the period had no post: nothing is sent
	DigestSending = "sending" // its recipients are being written to the ledger
	DigestSent    = "sent"    // every recipient is in the ledger
	DigestFailed  = "failed"  // cannot be rendered; the reason is kept, and nothing of it is sent
)

// Digest is one feed's digest of one period: the posts first seen in it,
// sent at End (the digest time) to the subscribers of posts who chose the
// weekly digest.
type Digest struct {
	ID         int64
	FeedID     int64
	FeedName   string
	Start, End time.Time
	State      string
	Posts      int // how many posts it lists
}

// DigestFeed is an enabled feed sent as a digest, as the scheduler needs it.
type DigestFeed struct {
	ID     int64
	Name   string
	Digest string    // "Mon 09:00"
	Since  time.Time // when it became a digest feed
	Last   time.Time // the end of its latest digest; zero before the first
}

// DigestFeeds returns the enabled feeds sent as digests, with the end of
// each one's latest digest.
func (db *DB) DigestFeeds(ctx context.Context) ([]DigestFeed, error) {
	rows, err := db.query(ctx, `SELECT f.id, f.name, f.digest, f.digest_since,
		(SELECT MAX(d.period_end) FROM digests d WHERE d.feed_id = f.id)
		FROM feeds f WHERE f.enabled = 1 AND f.digest <> '' ORDER BY f.id`)
	if err != nil {
		return nil, fmt.Errorf("list digest feeds: %w", err)
	}
	defer rows.Close()
	var out []DigestFeed
	for rows.Next() {
		var f DigestFeed
		var since int64
		var last sql.NullInt64
		if err := rows.Scan(&f.ID, &f.Name, &f.Digest, &since, &last); err != nil {
			return nil, fmt.Errorf("list digest feeds: %w", err)
		}
		f.Since, f.Last = time.UnixMilli(since), fromMS(last)
		out = append(out, f)
	}
	return out, rows.Err()
}

// WriteDigest writes feed's digest of the period [start, end) once: a
// second call for the same end (a restart, a second scheduler) returns the
// digest written first, and created false. The digest lists, fixed now,
// the feed's posts first seen before end and since the feed became a
// digest feed that are to be or were sent (not baseline, held, skipped or
// failed) and that no earlier digest listed: a post edited since is one
// row, listed once, and a post that reached the database after its
// period's digest was written goes in the next. A digest listing nothing
// is written empty, and sends nothing.
func (db *DB) WriteDigest(ctx context.Context, feedID int64, start, end time.Time) (d *Digest, created bool, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		var id int64
		now := db.nowMS()
		err := tx.queryRow(ctx, `INSERT INTO digests (feed_id, period_start, period_end, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (feed_id, period_end) DO NOTHING RETURNING id`,
			feedID, start.UnixMilli(), end.UnixMilli(), DigestSending, now, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // written before
		}
		if err != nil {
			return err
		}
		created = true
		res, err := tx.exec(ctx, `INSERT INTO digest_posts (digest_id, post_id)
			SELECT ?, p.id FROM posts p JOIN feeds f ON f.id = p.feed_id
			WHERE p.feed_id = ? AND p.state IN (?, ?, ?) AND p.created_at < ? AND p.created_at >= f.digest_since
			AND NOT EXISTS (SELECT 1 FROM digest_posts dp WHERE dp.post_id = p.id)`,
			id, feedID, PostNew, PostSending, PostSent, end.UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.exec(ctx, `UPDATE digests SET state = ? WHERE id = ?`, DigestEmpty, id)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("write digest of feed %d at %s: %w", feedID, end.UTC().Format(time.RFC3339), err)
	}
	d, err = db.digest(ctx, `d.feed_id = ? AND d.period_end = ?`, feedID, end.UnixMilli())
	return d, created, err
}

const digestColumns = `d.id, d.feed_id, f.name, d.period_start, d.period_end, d.state,
	(SELECT COUNT(*) FROM digest_posts dp WHERE dp.digest_id = d.id)`

// DigestByID returns the digest with that ID, or ErrNotFound.
func (db *DB) DigestByID(ctx context.Context, id int64) (*Digest, error) {
	return db.digest(ctx, `d.id = ?`, id)
}

func (db *DB) digest(ctx context.Context, where string, args ...any) (*Digest, error) {
	ds, err := db.digests(ctx, where, args...)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("digest: %w", ErrNotFound)
	}
	return &ds[0], nil
}

// Digests returns every digest, oldest period first.
func (db *DB) Digests(ctx context.Context) ([]Digest, error) { return db.digests(ctx, `1 = 1`) }

// SendingDigests returns the digests whose fan-out is not finished.
func (db *DB) SendingDigests(ctx context.Context) ([]Digest, error) {
	return db.digests(ctx, `d.state = ?`, DigestSending)
}

func (db *DB) digests(ctx context.Context, where string, args ...any) ([]Digest, error) {
	rows, err := db.query(ctx, `SELECT `+digestColumns+` FROM digests d JOIN feeds f ON f.id = d.feed_id
		WHERE `+where+` ORDER BY d.period_end, d.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list digests: %w", err)
	}
	defer rows.Close()
	var out []Digest
	for rows.Next() {
		var d Digest
		var start, end int64
		if err := rows.Scan(&d.ID, &d.FeedID, &d.FeedName, &start, &end, &d.State, &d.Posts); err != nil {
			return nil, fmt.Errorf("list digests: %w", err)
		}
		d.Start, d.End = time.UnixMilli(start), time.UnixMilli(end)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DigestPosts returns the posts a digest lists, as they are now (an edited
// post with its new title), in the order they were published.
func (db *DB) DigestPosts(ctx context.Context, digestID int64) ([]Post, error) {
	rows, err := db.query(ctx, `SELECT `+postColumns+` FROM posts WHERE id IN
		(SELECT post_id FROM digest_posts WHERE digest_id = ?)
		ORDER BY COALESCE(published_at, created_at), id`, digestID)
	if err != nil {
		return nil, fmt.Errorf("posts of digest %d: %w", digestID, err)
	}
	defer rows.Close()
	var out []Post
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, fmt.Errorf("posts of digest %d: %w", digestID, err)
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// SetDigestState moves a digest from one state to another; it reports
// false if the digest was not in state from.
func (db *DB) SetDigestState(ctx context.Context, id int64, from, to string) (bool, error) {
	return db.setSourceState(ctx, "digests", id, from, to)
}

// FailDigest marks a digest that cannot be rendered as failed with
// reason, and fails each of its deliveries still queued, as FailPost does
// for a post; it reports whether it moved the digest to failed (false when
// it already was).
func (db *DB) FailDigest(ctx context.Context, id int64, reason string) (bool, error) {
	return db.failSource(ctx, "digests", KindDigest, id, reason)
}

// SetDigestChoice records whether the subscriber takes the posts of
// digest feeds as a weekly digest (true) or each post on its own (false).
// It returns ErrNotFound for an unknown or erased subscriber.
func (db *DB) SetDigestChoice(ctx context.Context, subscriberID int64, digest bool) error {
	v := 0
	if digest {
		v = 1
	}
	res, err := db.exec(ctx, `UPDATE subscribers SET digest = ?, updated_at = ? WHERE id = ? AND erased_at IS NULL`,
		v, db.nowMS(), subscriberID)
	if err != nil {
		return fmt.Errorf("set digest choice of %d: %w", subscriberID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("set digest choice of %d: %w", subscriberID, ErrNotFound)
	}
	return nil
}

// DigestChoice reports whether the subscriber chose the weekly digest.
func (db *DB) DigestChoice(ctx context.Context, subscriberID int64) (bool, error) {
	var v int
	err := db.queryRow(ctx, `SELECT digest FROM subscribers WHERE id = ? AND erased_at IS NULL`, subscriberID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("digest choice of %d: %w", subscriberID, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("digest choice of %d: %w", subscriberID, err)
	}
	return v == 1, nil
}

// fanOutFilter is the condition on subscribers s that the fan-out of
// (kind, source) adds to the topic's: a digest goes to those who chose it,
// and a post of a digest feed to those who did not. Other kinds add none.
func (tx *Tx) fanOutFilter(ctx context.Context, kind string, source int64) (string, error) {
	switch kind {
	case KindDigest:
		return ` AND s.digest = 1`, nil
	case KindPost:
		var digest string
		err := tx.queryRow(ctx, `SELECT f.digest FROM posts p JOIN feeds f ON f.id = p.feed_id WHERE p.id = ?`, source).Scan(&digest)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
		if digest != "" {
			return ` AND s.digest = 0`, nil
		}
	}
	return "", nil
}

// digestSince is the digest_since that SyncFeeds writes for s: now for a
// digest feed (kept if it already was one), 0 for a feed of each post.
func digestSince(s FeedSpec, now int64) int64 {
	if s.Digest == "" {
		return 0
	}
	return now
}

// digestWords says a feed's digest setting as a FeedDiff shows it.
func digestWords(digest string) string {
	if digest == "" {
		return "none (each post)"
	}
	return digest
}
