package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/feeds"
	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/store"
)

// PollReport says what one poll of a feed found and did.
type PollReport struct {
	Feed        string
	NotModified bool
	Items       int
	Baseline    []string // titles recorded at the first poll, not sent
	New         []string // titles sent to subscribers
	Held        []string // titles held for `poll --approve`
	Updated     []string // titles of edited posts, updated and not re-sent
	Err         error    // why the poll failed; the failure is recorded on the feed
	NextPoll    time.Time
}

// PollFeed fetches and parses one feed, decides what is new, records it, and
// enqueues the fan-out of every new post. A feed that cannot be read is not
// an error of PollFeed: the report carries it, and it is recorded on the feed
// with the next try backed off.
func (w *Worker) PollFeed(ctx context.Context, f store.Feed) (*PollReport, error) {
	set := scheduleOf(f)
	rep := &PollReport{Feed: f.Name}
	res, err := w.Fetcher.Fetch(ctx, f.URL, feeds.Validators{ETag: f.ETag, LastModified: f.LastModified})
	if err != nil {
		return w.pollFailed(ctx, f, rep, err)
	}
	rep.NextPoll = w.DB.Now().Add(set.Every)
	if res.NotModified {
		rep.NotModified = true
		return rep, w.DB.RecordNotModified(ctx, f.ID, rep.NextPoll)
	}
	parsed, err := feeds.Parse(res.Body, res.URL)
	if err != nil {
		// The URL may carry a password (https://user:pass@host/feed): the
		// error is shown by poll and status, and logged.
		return w.pollFailed(ctx, f, rep, fmt.Errorf("feed %s: %w", config.RedactURL(f.URL), err))
	}
	known, err := w.DB.KnownPosts(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	d := feeds.Decide(known, parsed.Items, !f.Baselined, set.HoldOver)
	rep.Items = len(parsed.Items)
	rep.Baseline, rep.New, rep.Held, rep.Updated = titles(d.Baseline), titles(d.New), titles(d.Held), titles(d.Updated)
	out := store.PollOutcome{
		ETag: res.Validators.ETag, LastModified: res.Validators.LastModified, Next: rep.NextPoll,
		Status:   rep.Summary(),
		Baseline: posts(d.Baseline), New: posts(d.New), Held: posts(d.Held), Updated: posts(d.Updated),
	}
	ids, err := w.DB.SavePoll(ctx, f.ID, out)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		// A failed enqueue is not lost: the reconciler finds posts still new.
		if err := w.enqueue(ctx, NewPostFanoutTask(w.Instance, id)); err != nil {
			w.Log.Warn("enqueue_fanout_failed", "post_id", id, "error", err)
		}
	}
	return rep, nil
}

func (w *Worker) pollFailed(ctx context.Context, f store.Feed, rep *PollReport, err error) (*PollReport, error) {
	delay := scheduleOf(f).Every
	for i := 0; i < f.Failures && delay < 6*time.Hour; i++ {
		delay *= 2
	}
	delay = min(delay, 6*time.Hour)
	var fe *feeds.FetchError
	if errors.As(err, &fe) && fe.RetryAfter > delay {
		delay = min(fe.RetryAfter, 24*time.Hour)
	}
	rep.Err, rep.NextPoll = err, w.DB.Now().Add(delay)
	return rep, w.DB.RecordPollFailure(ctx, f.ID, err.Error(), rep.NextPoll)
}

// Summary is the report in one line, as `status` shows it.
func (r *PollReport) Summary() string {
	switch {
	case r.Err != nil:
		return r.Err.Error()
	case r.NotModified:
		return "not modified"
	case len(r.Baseline) > 0:
		return fmt.Sprintf("first poll: %d items recorded, none sent", len(r.Baseline))
	}
	return fmt.Sprintf("%d items: %d new, %d held, %d updated", r.Items, len(r.New), len(r.Held), len(r.Updated))
}

// schedule is how often a feed is polled and when its new items are held.
type schedule struct {
	Every    time.Duration
	HoldOver int
}

// scheduleOf is the feed's schedule as the owner of the feeds table set it
// (the leading scheduler), whatever this process's configuration says, so
// that a poll run anywhere keeps the feed to the same interval.
func scheduleOf(f store.Feed) schedule {
	s := schedule{Every: f.Every, HoldOver: f.HoldOver}
	if s.Every <= 0 { // never set by SyncFeeds
		s.Every = 15 * time.Minute
	}
	return s
}

// handleFeedPoll polls a feed if it is still due: a poll already done by
// `practicemail poll` or an earlier task moved its next poll on.
func (w *Worker) handleFeedPoll(ctx context.Context, t *asynq.Task) error {
	var p FeedPollPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	f, err := w.DB.FeedByID(ctx, p.FeedID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // removed from the configuration since
	}
	if err != nil {
		return err
	}
	if !f.Enabled || f.NextPollAt.UnixMilli() > p.Due {
		return nil
	}
	rep, err := w.PollFeed(ctx, *f)
	if err != nil {
		return err
	}
	w.Log.Info("feed_polled", "feed", f.Name, "result", rep.Summary())
	return nil
}

// EnqueueFanout enqueues the fan-out of a post made new outside a poll (a
// held post approved). A failed enqueue is not lost: the reconciler finds
// posts still new.
func (w *Worker) EnqueueFanout(ctx context.Context, postID int64) error {
	return w.enqueue(ctx, NewPostFanoutTask(w.Instance, postID))
}

func titles(items []feeds.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Title
	}
	return out
}

func posts(items []feeds.Item) []store.Post {
	out := make([]store.Post, len(items))
	for i, it := range items {
		out[i] = store.Post{Key: it.Key, GUID: it.GUID, URL: it.URL, Title: it.Title, Author: it.Author,
			Content: it.Content, Summary: it.Summary, ImageURL: it.ImageURL, Hash: it.Hash, Published: it.Published}
	}
	return out
}
