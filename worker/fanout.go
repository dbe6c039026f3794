package worker

import (
	"context"
	"errors"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/store"
)

// handlePostFanout writes a post's ledger rows page by page — one row per
// active subscriber of the posts topic — and enqueues a send task per page as
// soon as it is committed, so sending starts while the fan-out goes on. It
// carries on from where a crashed run stopped.
func (w *Worker) handlePostFanout(ctx context.Context, t *asynq.Task) error {
	var p PostFanoutPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	post, err := w.DB.Post(ctx, p.PostID)
	if errors.Is(err, store.ErrNotFound) {
		return asynq.SkipRetry
	}
	if err != nil {
		return err
	}
	switch post.State {
	case store.PostNew:
		if _, err := w.DB.SetPostState(ctx, post.ID, store.PostNew, store.PostSending); err != nil {
			return err
		}
	case store.PostSending:
	default:
		return nil // sent, held, baseline, skipped or failed: nothing to do
	}
	if ok, err := w.renderable(ctx, post.ID); !ok {
		return err // nil when the post failed: nobody is queued for it
	}
	return w.fanOut(ctx, store.KindPost, post.ID, store.TopicPosts, func(ctx context.Context) error {
		_, err := w.DB.SetPostState(ctx, post.ID, store.PostSending, store.PostSent)
		return err
	})
}

// fanOut pages through the audience of (kind, source), enqueueing each batch,
// and calls done when the audience is exhausted.
func (w *Worker) fanOut(ctx context.Context, kind string, source int64, topic string, done func(context.Context) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err // shutting down: asynq requeues us and we carry on from the cursor
		}
		page, err := w.DB.FanOut(ctx, kind, source, topic, w.Options.BatchSize)
		if err != nil {
			return err
		}
		if page.Batch.Batch != 0 {
			// A failed enqueue is not lost: the reconciler finds queued rows without a task.
			if err := w.enqueue(ctx, NewDeliverTask(w.Instance, page.Batch, "")); err != nil {
				w.Log.Warn("enqueue_batch_failed", "kind", kind, "source", source, "batch", page.Batch.Batch, "error", err)
			}
		}
		if page.Done {
			total, _, _ := w.DB.FanOutProgress(ctx, kind, source)
			w.Log.Info("fanout_done", "kind", kind, "source", source, "recipients", total)
			return done(ctx)
		}
	}
}
