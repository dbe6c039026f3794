package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Feed is a blog feed that practicemail polls.
type Feed struct {
	ID           int64
	Name         string
	URL          string
	Enabled      bool
	ETag         string
	LastModified string
	Baselined    bool // the first poll has recorded what was already there
	PolledAt     time.Time
	LastOKAt     time.Time
	LastStatus   string // what the last successful poll did, in words
	LastError    string // why the last poll failed; empty after a success
	Failures     int    // polls failed in a row
	NextPollAt   time.Time
}

// FeedSpec is a feed as configured.
type FeedSpec struct{ Name, URL string }

const feedColumns = `id, name, url, enabled, etag, last_modified, baselined, polled_at, last_ok_at,
	last_status, last_error, failures, next_poll_at`

func scanFeed(row interface{ Scan(...any) error }) (*Feed, error) {
	var f Feed
	var enabled, baselined int
	var polled, ok, next sql.NullInt64
	err := row.Scan(&f.ID, &f.Name, &f.URL, &enabled, &f.ETag, &f.LastModified, &baselined,
		&polled, &ok, &f.LastStatus, &f.LastError, &f.Failures, &next)
	if err != nil {
		return nil, err
	}
	f.Enabled, f.Baselined = enabled != 0, baselined != 0
	f.PolledAt, f.LastOKAt, f.NextPollAt = fromMS(polled), fromMS(ok), fromMS(next)
	return &f, nil
}

// SyncFeeds makes the feeds table match the configuration: new feeds are added
// (due at once), changed URLs updated (and their validators forgotten), and
// feeds no longer configured disabled but kept, with their posts.
func (db *DB) SyncFeeds(ctx context.Context, specs []FeedSpec) error {
	return db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE feeds SET enabled = 0`); err != nil {
			return fmt.Errorf("sync feeds: %w", err)
		}
		for _, s := range specs {
			_, err := tx.exec(ctx, `INSERT INTO feeds (name, url, created_at) VALUES (?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET enabled = 1,
					etag = CASE WHEN feeds.url = excluded.url THEN feeds.etag ELSE '' END,
					last_modified = CASE WHEN feeds.url = excluded.url THEN feeds.last_modified ELSE '' END,
					url = excluded.url`, s.Name, s.URL, db.nowMS())
			if err != nil {
				return fmt.Errorf("sync feed %s: %w", s.Name, err)
			}
		}
		return nil
	})
}

// Feeds returns every feed, enabled or not, by name.
func (db *DB) Feeds(ctx context.Context) ([]Feed, error) {
	return db.feeds(ctx, `SELECT `+feedColumns+` FROM feeds ORDER BY name`)
}

// DueFeeds returns the enabled feeds whose next poll is at or before now.
func (db *DB) DueFeeds(ctx context.Context, now time.Time) ([]Feed, error) {
	return db.feeds(ctx, `SELECT `+feedColumns+` FROM feeds WHERE enabled = 1 AND next_poll_at <= ? ORDER BY next_poll_at`, now.UnixMilli())
}

func (db *DB) feeds(ctx context.Context, q string, args ...any) ([]Feed, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	defer rows.Close()
	var out []Feed
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, fmt.Errorf("scan feed: %w", err)
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}

// FeedByName returns the feed called name, or ErrNotFound.
func (db *DB) FeedByName(ctx context.Context, name string) (*Feed, error) {
	return db.feed(ctx, name, `name = ?`, name)
}

// FeedByID returns the feed with that ID, or ErrNotFound.
func (db *DB) FeedByID(ctx context.Context, id int64) (*Feed, error) {
	return db.feed(ctx, fmt.Sprint(id), `id = ?`, id)
}

func (db *DB) feed(ctx context.Context, desc, where string, arg any) (*Feed, error) {
	f, err := scanFeed(db.queryRow(ctx, `SELECT `+feedColumns+` FROM feeds WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("feed %s: %w", desc, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", desc, err)
	}
	return f, nil
}

// RecordPollFailure notes a failed poll: the message, one more failure in a
// row, and when to try again.
func (db *DB) RecordPollFailure(ctx context.Context, feedID int64, msg string, next time.Time) error {
	_, err := db.exec(ctx, `UPDATE feeds SET polled_at = ?, last_error = ?, failures = failures + 1,
		next_poll_at = ? WHERE id = ?`, db.nowMS(), msg, next.UnixMilli(), feedID)
	if err != nil {
		return fmt.Errorf("record poll failure: %w", err)
	}
	return nil
}

// RecordNotModified notes a poll answered 304 Not Modified.
func (db *DB) RecordNotModified(ctx context.Context, feedID int64, next time.Time) error {
	now := db.nowMS()
	_, err := db.exec(ctx, `UPDATE feeds SET polled_at = ?, last_ok_at = ?, last_error = '', failures = 0,
		last_status = 'not modified', next_poll_at = ? WHERE id = ?`, now, now, next.UnixMilli(), feedID)
	if err != nil {
		return fmt.Errorf("record poll: %w", err)
	}
	return nil
}
