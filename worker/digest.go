package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// TypeDigestFanout writes a digest's ledger rows and enqueues their sends.
const TypeDigestFanout = "digest:fanout"

// DigestFanoutPayload names the digest to fan out.
type DigestFanoutPayload struct {
	DigestID int64 `json:"digest_id"`
}

// newDigestFanoutTask returns the task fanning a digest out to the
// subscribers who chose digests, with a round (see NewDeliverTask).
func newDigestFanoutTask(ns string, digestID int64, round string) *asynq.Task {
	return asynq.NewTask(TypeDigestFanout, mustJSON(DigestFanoutPayload{DigestID: digestID}),
		asynq.TaskID(withRound(digestFanoutTaskID(ns, digestID), round)),
		asynq.Queue(QueueControl), asynq.MaxRetry(25), asynq.Retention(retention), asynq.Timeout(time.Hour))
}

func digestFanoutTaskID(ns string, digestID int64) string {
	return scoped(ns, fmt.Sprintf("digest:fanout:%d", digestID))
}

// digestAudience: a digest goes where a post goes, to active subscribers
// of posts, checked again at send time, with the same links.
var digestAudience = postAudience

// handleDigestFanout writes a digest's ledger rows page by page — one row
// per active subscriber of posts who chose the weekly digest — enqueueing a
// send per page, as a post's fan-out does; it carries on where a crashed
// run stopped.
func (w *Worker) handleDigestFanout(ctx context.Context, t *asynq.Task) error {
	var p DigestFanoutPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	d, err := w.DB.DigestByID(ctx, p.DigestID)
	if errors.Is(err, store.ErrNotFound) {
		return asynq.SkipRetry
	}
	if err != nil {
		return err
	}
	if d.State != store.DigestSending {
		return nil // sent, empty or failed: nothing to do
	}
	// Render before anyone is queued: a digest that cannot be rendered
	// fails with nobody queued for it.
	if _, _, err := w.prepare(ctx, store.BatchRef{Kind: store.KindDigest, SourceID: d.ID}); err != nil {
		if errors.Is(err, errDigestFailed) {
			return nil
		}
		return err
	}
	return w.fanOut(ctx, store.KindDigest, d.ID, store.TopicPosts, func(ctx context.Context) error {
		_, err := w.DB.SetDigestState(ctx, d.ID, store.DigestSending, store.DigestSent)
		return err
	})
}

// errDigestFailed marks a digest that cannot be rendered: it is failed,
// nothing of it is sent, and trying again will not help.
var errDigestFailed = errors.New("the digest cannot be rendered")

// prepareDigest renders a digest once for all its recipients: the posts it
// lists as they are now (an edited post with its new title), with the
// same footer and list headers as a post.
func (w *Worker) prepareDigest(ctx context.Context, digestID int64) (*mail.Prepared, error) {
	d, err := w.DB.DigestByID(ctx, digestID)
	if err != nil {
		return nil, err
	}
	if d.State == store.DigestFailed { // fail what was queued since, once more
		return nil, w.failDigest(ctx, d, errDigestFailed)
	}
	posts, err := w.DB.DigestPosts(ctx, digestID)
	if err != nil {
		return nil, err
	}
	data := templates.DigestEmail{
		Practice: w.Practice.Name,
		BaseURL:  w.Practice.BaseURL,
		Since:    d.Start,
		TimeZone: w.location(),
		Posts:    make([]templates.DigestPost, len(posts)),
	}
	for i, p := range posts {
		data.Posts[i] = templates.DigestPost{Title: p.Title, Author: p.Author, Summary: p.Summary,
			URL: blogLink(p.URL), Date: firstNonZero(p.Published, p.CreatedAt)}
	}
	unsubscribe := w.Links.URL(links.Unsubscribe, links.Placeholder(links.Unsubscribe))
	data.Footer = w.marketingFooter(unsubscribe)
	r, err := w.Templates.Digest(data)
	var p *mail.Prepared
	if err == nil {
		p, err = mail.Prepare(w.content(r, unsubscribe, store.TopicPosts), digestAudience.placeholders())
	}
	if err != nil {
		return nil, w.failDigest(ctx, d, err)
	}
	return p, nil
}

// failDigest records that d cannot be rendered, logging why the first
// time, and returns errDigestFailed (not retried), or the error that kept
// it from recording.
func (w *Worker) failDigest(ctx context.Context, d *store.Digest, cause error) error {
	moved, err := w.DB.FailDigest(ctx, d.ID, cause.Error())
	if err != nil {
		return err
	}
	if moved {
		w.Log.Error("digest_failed", "digest_id", d.ID, "feed", d.FeedName, "error", cause.Error())
	}
	return fmt.Errorf("digest %d: %w: %w", d.ID, errDigestFailed, asynq.SkipRetry)
}
