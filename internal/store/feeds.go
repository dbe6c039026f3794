package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/practicemail/practicemail/internal/config"
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
	// Every and HoldOver are the schedule the owner of the feeds table
	// configured (see SyncFeeds): whoever polls the feed keeps to them.
	Every    time.Duration
	HoldOver int
	// Digest is when the feed's digest goes out ("Mon 09:00", see
	// config.ParseDigest); "" when each post is sent on its own.
	Digest string
}

// FeedSpec is a feed as configured.
type FeedSpec struct {
	Name, URL string
	Every     time.Duration // poll interval
	HoldOver  int           // more new items than this in one poll are held; < 0 never
	Digest    string        // "Mon 09:00" for a feed with mode digest; "" for mode each
}

const feedColumns = `id, name, url, enabled, etag, last_modified, baselined, polled_at, last_ok_at,
	last_status, last_error, failures, next_poll_at, every_ms, hold_over, digest`

func scanFeed(row interface{ Scan(...any) error }) (*Feed, error) {
	var f Feed
	var enabled, baselined int
	var polled, ok, next sql.NullInt64
	var everyMS int64
	err := row.Scan(&f.ID, &f.Name, &f.URL, &enabled, &f.ETag, &f.LastModified, &baselined,
		&polled, &ok, &f.LastStatus, &f.LastError, &f.Failures, &next, &everyMS, &f.HoldOver, &f.Digest)
	if err != nil {
		return nil, err
	}
	f.Every = time.Duration(everyMS) * time.Millisecond
	f.Enabled, f.Baselined = enabled != 0, baselined != 0
	f.PolledAt, f.LastOKAt, f.NextPollAt = fromMS(polled), fromMS(ok), fromMS(next)
	return &f, nil
}

// SyncFeeds makes the feeds table match the configuration: new feeds are added
// (due at once), changed URLs updated (and their validators forgotten), the
// schedule set (a shorter interval brings the next poll forward), and feeds
// no longer configured disabled but kept, with their posts. Only the owner of
// the table calls it: the leading scheduler, or `poll` when none runs.
func (db *DB) SyncFeeds(ctx context.Context, specs []FeedSpec) error {
	return db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE feeds SET enabled = 0`); err != nil {
			return fmt.Errorf("sync feeds: %w", err)
		}
		for _, s := range specs {
			_, err := tx.exec(ctx, `INSERT INTO feeds (name, url, every_ms, hold_over, digest, digest_since, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET enabled = 1,
					etag = CASE WHEN feeds.url = excluded.url THEN feeds.etag ELSE '' END,
					last_modified = CASE WHEN feeds.url = excluded.url THEN feeds.last_modified ELSE '' END,
					url = excluded.url,
					next_poll_at = CASE WHEN excluded.every_ms < feeds.every_ms
						AND COALESCE(feeds.polled_at, 0) + excluded.every_ms < feeds.next_poll_at
						THEN COALESCE(feeds.polled_at, 0) + excluded.every_ms ELSE feeds.next_poll_at END,
					every_ms = excluded.every_ms, hold_over = excluded.hold_over,
					digest_since = CASE WHEN feeds.digest = '' THEN excluded.digest_since ELSE feeds.digest_since END,
					digest = excluded.digest`,
				s.Name, s.URL, s.Every.Milliseconds(), s.HoldOver, s.Digest, digestSince(s, db.nowMS()), db.nowMS())
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

// FeedDiff is one way a configuration's feeds differ from the feeds table,
// which holds the configuration of its owner (the leading scheduler).
type FeedDiff struct {
	Feed string
	// Key is "url", "every", "hold_over" or "digest"; "" when the feed is named by
	// only one side (Mine or Theirs empty).
	Key          string
	Mine, Theirs string
}

// String says the difference in one line, as `poll` prints it and the
// standby scheduler logs it. URLs are shown without their password.
func (d FeedDiff) String() string {
	switch {
	case d.Key == "" && d.Theirs == "":
		return fmt.Sprintf("feed %s: this configuration names it, the running scheduler does not poll it", d.Feed)
	case d.Key == "":
		return fmt.Sprintf("feed %s: the running scheduler polls it, this configuration does not name it", d.Feed)
	case d.Key == "every":
		return fmt.Sprintf("feed %s: this configuration says every %s, the running scheduler uses %s", d.Feed, d.Mine, d.Theirs)
	}
	return fmt.Sprintf("feed %s: this configuration says %s %s, the running scheduler uses %s", d.Feed, d.Key, d.Mine, d.Theirs)
}

// DiffFeeds compares a configuration's feeds with the table's enabled ones,
// by feed name.
func DiffFeeds(specs []FeedSpec, table []Feed) []FeedDiff {
	theirs := make(map[string]Feed)
	for _, f := range table {
		if f.Enabled {
			theirs[f.Name] = f
		}
	}
	var out []FeedDiff
	for _, s := range specs {
		f, ok := theirs[s.Name]
		delete(theirs, s.Name)
		switch {
		case !ok:
			out = append(out, FeedDiff{Feed: s.Name, Mine: "named"})
			continue
		case s.URL != f.URL:
			out = append(out, FeedDiff{s.Name, "url", config.RedactURL(s.URL), config.RedactURL(f.URL)})
		}
		if s.Every != f.Every {
			out = append(out, FeedDiff{s.Name, "every", s.Every.String(), f.Every.String()})
		}
		if s.HoldOver != f.HoldOver {
			out = append(out, FeedDiff{s.Name, "hold_over", fmt.Sprint(s.HoldOver), fmt.Sprint(f.HoldOver)})
		}
		if s.Digest != f.Digest {
			out = append(out, FeedDiff{s.Name, "digest", digestWords(s.Digest), digestWords(f.Digest)})
		}
	}
	for _, f := range table { // in the table's order, by name
		if _, left := theirs[f.Name]; left {
			out = append(out, FeedDiff{Feed: f.Name, Theirs: "named"})
		}
	}
	return out
}
