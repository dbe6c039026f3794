package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Post states, as stored. Counts reports a post stored as sent as sending
// while any of its deliveries is still queued: to the user, sent means that
// every delivery is final (sent, failed or suppressed).
const (
	PostBaseline = "baseline" // already on the blog at the first poll: never sent
	PostNew      = "new"      // to be sent
	PostHeld     = "held"     // waiting for `poll --approve`
	PostSending  = "sending"  // its recipients are being written to the ledger
	PostSent     = "sent"     // every recipient is in the ledger; sent once each delivery is final
	PostSkipped  = "skipped"  // decided against
	PostFailed   = "failed"   // cannot be rendered; the reason is kept, and nothing of it is sent
)

// Post is one item of a feed.
type Post struct {
	ID        int64
	FeedID    int64
	Key       string // identity within the feed
	GUID      string
	URL       string
	Title     string
	Author    string
	Content   string // sanitised HTML
	Summary   string
	ImageURL  string
	Hash      string
	Published time.Time
	State     string
	CreatedAt time.Time
}

// PollOutcome is what one successful poll of a feed found, already decided.
type PollOutcome struct {
	ETag, LastModified string
	Status             string // one line for `status`, e.g. "3 items, 1 new"
	Next               time.Time
	Baseline, New      []Post
	Held, Updated      []Post
}

const postColumns = `id, feed_id, key, guid, url, title, author, content, summary, image_url, hash,
	published_at, state, created_at`

func scanPost(row interface{ Scan(...any) error }) (*Post, error) {
	var p Post
	var published, created sql.NullInt64
	err := row.Scan(&p.ID, &p.FeedID, &p.Key, &p.GUID, &p.URL, &p.Title, &p.Author, &p.Content,
		&p.Summary, &p.ImageURL, &p.Hash, &published, &p.State, &created)
	if err != nil {
		return nil, err
	}
	p.Published, p.CreatedAt = fromMS(published), fromMS(created)
	return &p, nil
}

// KnownPosts returns the identity keys of a feed's stored posts with their hashes.
func (db *DB) KnownPosts(ctx context.Context, feedID int64) (map[string]string, error) {
	rows, err := db.query(ctx, `SELECT key, hash FROM posts WHERE feed_id = ?`, feedID)
	if err != nil {
		return nil, fmt.Errorf("known posts: %w", err)
	}
	defer rows.Close()
	known := make(map[string]string)
	for rows.Next() {
		var k, h string
		if err := rows.Scan(&k, &h); err != nil {
			return nil, fmt.Errorf("known posts: %w", err)
		}
		known[k] = h
	}
	return known, rows.Err()
}

// SavePoll stores a poll's outcome in one transaction and returns the IDs of the
// posts it created in state new, ready to fan out. A post another poller stored
// first is left alone, so two pollers racing never send an item twice.
func (db *DB) SavePoll(ctx context.Context, feedID int64, o PollOutcome) ([]int64, error) {
	var fresh []int64
	err := db.tx(ctx, func(tx *Tx) error {
		now := db.nowMS()
		for _, set := range []struct {
			state string
			posts []Post
		}{{PostBaseline, o.Baseline}, {PostHeld, o.Held}, {PostNew, o.New}} {
			for _, p := range set.posts {
				id, err := tx.insertPost(ctx, feedID, p, set.state, now)
				if err != nil {
					return err
				}
				if id != 0 && set.state == PostNew {
					fresh = append(fresh, id)
				}
			}
		}
		for _, p := range o.Updated {
			if _, err := tx.exec(ctx, `UPDATE posts SET guid = ?, url = ?, title = ?, author = ?, content = ?,
				summary = ?, image_url = ?, hash = ?, updated_at = ? WHERE feed_id = ? AND key = ?`,
				p.GUID, p.URL, p.Title, p.Author, p.Content, p.Summary, p.ImageURL, p.Hash, now, feedID, p.Key); err != nil {
				return fmt.Errorf("update post: %w", err)
			}
		}
		_, err := tx.exec(ctx, `UPDATE feeds SET etag = ?, last_modified = ?, baselined = 1, polled_at = ?,
			last_ok_at = ?, last_status = ?, last_error = '', failures = 0, next_poll_at = ? WHERE id = ?`,
			o.ETag, o.LastModified, now, now, o.Status, o.Next.UnixMilli(), feedID)
		if err != nil {
			return fmt.Errorf("update feed: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("save poll: %w", err)
	}
	return fresh, nil
}

// insertPost returns the new post's ID, or 0 if the feed already has that key.
func (tx *Tx) insertPost(ctx context.Context, feedID int64, p Post, state string, now int64) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO posts (feed_id, key, guid, url, title, author, content, summary,
		image_url, hash, published_at, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (feed_id, key) DO NOTHING RETURNING id`,
		feedID, p.Key, p.GUID, p.URL, p.Title, p.Author, p.Content, p.Summary, p.ImageURL, p.Hash,
		ms(p.Published), state, now, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("insert post: %w", err)
	}
	return id, nil
}

// Post returns the post with the given ID, or ErrNotFound.
func (db *DB) Post(ctx context.Context, id int64) (*Post, error) {
	p, err := scanPost(db.queryRow(ctx, `SELECT `+postColumns+` FROM posts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("post %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("post %d: %w", id, err)
	}
	return p, nil
}

// PostByLink returns the post whose link (URL) or GUID is ref, or
// ErrNotFound. When several match (the same item in two feeds, or a GUID
// equal to another post's link), the one stored last wins.
func (db *DB) PostByLink(ctx context.Context, ref string) (*Post, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, fmt.Errorf("post %q: %w", ref, ErrNotFound)
	}
	p, err := scanPost(db.queryRow(ctx, `SELECT `+postColumns+` FROM posts WHERE url = ? OR guid = ?
		ORDER BY id DESC LIMIT 1`, ref, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("post %q: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("post %q: %w", ref, err)
	}
	return p, nil
}

// PostsInState lists posts in one state, oldest first; feedID 0 means every feed.
func (db *DB) PostsInState(ctx context.Context, state string, feedID int64) ([]Post, error) {
	rows, err := db.query(ctx, `SELECT `+postColumns+` FROM posts WHERE state = ? AND (? = 0 OR feed_id = ?)
		ORDER BY COALESCE(published_at, created_at), id`, state, feedID, feedID)
	if err != nil {
		return nil, fmt.Errorf("list %s posts: %w", state, err)
	}
	defer rows.Close()
	var out []Post
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, fmt.Errorf("scan post: %w", err)
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// ApproveHeld moves a feed's held posts (every feed's, for feedID 0) to new and
// returns their IDs.
func (db *DB) ApproveHeld(ctx context.Context, feedID int64) ([]int64, error) {
	defer db.lockWrites()()
	rows, err := db.query(ctx, `UPDATE posts SET state = 'new', updated_at = ?
		WHERE state = 'held' AND (? = 0 OR feed_id = ?) RETURNING id`, db.nowMS(), feedID, feedID)
	if err != nil {
		return nil, fmt.Errorf("approve held posts: %w", err)
	}
	return scanIDs(rows)
}

// NotHeldError refuses a decision on held posts naming posts that are not
// held (or not of the feed asked about); nothing was changed.
type NotHeldError struct {
	Reasons []string // one per ID, e.g. "post 12 is sent, not held"
}

func (e *NotHeldError) Error() string {
	return strings.Join(e.Reasons, "; ") + "; nothing changed"
}

// DecideHeld moves the listed held posts to new (to send them) or skipped
// (never to), all or none: an ID naming no held post of feedID (of any feed
// for 0) refuses the lot with a *NotHeldError. It returns the posts moved,
// as they were.
func (db *DB) DecideHeld(ctx context.Context, feedID int64, ids []int64, to string) ([]Post, error) {
	var out []Post
	err := db.tx(ctx, func(tx *Tx) error {
		var reasons []string
		out = out[:0]
		for _, id := range ids {
			p, err := scanPost(tx.queryRow(ctx, `SELECT `+postColumns+` FROM posts WHERE id = ?`, id))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				reasons = append(reasons, fmt.Sprintf("no post %d", id))
			case err != nil:
				return fmt.Errorf("post %d: %w", id, err)
			case feedID != 0 && p.FeedID != feedID:
				reasons = append(reasons, fmt.Sprintf("post %d is of another feed", id))
			case p.State != PostHeld:
				reasons = append(reasons, fmt.Sprintf("post %d is %s, not held", id, p.State))
			default:
				out = append(out, *p)
			}
		}
		if len(reasons) > 0 {
			return &NotHeldError{Reasons: reasons}
		}
		for _, p := range out {
			if _, err := tx.exec(ctx, `UPDATE posts SET state = ?, updated_at = ? WHERE id = ?`, to, db.nowMS(), p.ID); err != nil {
				return fmt.Errorf("%s post %d: %w", verbOf(to), p.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func verbOf(to string) string {
	if to == PostSkipped {
		return "skip"
	}
	return "approve"
}

// SetPostState moves a post from one state to another; it reports false if the
// post was not in state from.
func (db *DB) SetPostState(ctx context.Context, id int64, from, to string) (bool, error) {
	return db.setSourceState(ctx, "posts", id, from, to)
}

// setSourceState moves row id of table (posts or digests) from one state
// to another; it reports false if the row was not in state from.
func (db *DB) setSourceState(ctx context.Context, table string, id int64, from, to string) (bool, error) {
	res, err := db.exec(ctx, `UPDATE `+table+` SET state = ?, updated_at = ? WHERE id = ? AND state = ?`,
		to, db.nowMS(), id, from)
	if err != nil {
		return false, fmt.Errorf("set %s %d %s: %w", table, id, to, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FailPost marks a post that cannot be rendered as failed with reason, and
// fails each of its deliveries still queued with the post's reason, so none
// sits in the queue for ever. It may be called again for a failed post: it
// keeps the first reason, fails deliveries written since, and reports false.
// It reports true only when it moved the post to failed.
func (db *DB) FailPost(ctx context.Context, id int64, reason string) (bool, error) {
	return db.failSource(ctx, "posts", KindPost, id, reason)
}

// failSource moves row id of table (posts or digests, the sources of
// kind's deliveries) to failed with reason unless it already is, and fails
// the source's deliveries still queued with the reason the row keeps (the
// first). It reports whether it moved the row.
func (db *DB) failSource(ctx context.Context, table, kind string, id int64, reason string) (bool, error) {
	var moved bool
	err := db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ledger(ctx); err != nil { // outcomes already written stand
			return err
		}
		now := db.nowMS()
		res, err := tx.exec(ctx, `UPDATE `+table+` SET state = 'failed', failure = ?, updated_at = ?
			WHERE id = ? AND state <> 'failed'`, reason, now, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		moved = n == 1
		_, err = tx.exec(ctx, `UPDATE deliveries SET state = ?, done_at = ?,
			last_reply = (SELECT 'not sent: the `+kind+` could not be rendered: ' || failure FROM `+table+` WHERE id = ?)
			WHERE kind = ? AND source_id = ? AND state = 'queued'`, DeliveryFailed, now, id, kind, id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("fail %s %d: %w", kind, id, err)
	}
	return moved, nil
}
