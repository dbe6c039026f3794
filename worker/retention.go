package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeRetention is the periodic task deleting inquiry messages older than
// Options.InquiryRetention (store.DB.DeleteExpiredMessages).
const TypeRetention = "inquiries:retention"

// retentionEvery is how often the leader enqueues the retention task: a
// message outlives its retention by at most this much.
const retentionEvery = time.Hour

// NewRetentionTask returns the retention task of the period starting at
// at: one per period however many times the scheduler enqueues it.
func NewRetentionTask(ns string, at time.Time) *asynq.Task {
	period := at.Truncate(retentionEvery).Unix()
	return asynq.NewTask(TypeRetention, nil,
		asynq.TaskID(scoped(ns, fmt.Sprintf("inquiries:retention:%d", period))),
		asynq.Queue(QueueControl), asynq.MaxRetry(3), asynq.Retention(2*retentionEvery), asynq.Timeout(10*time.Minute))
}

// enqueueRetention enqueues this period's retention task; the scheduler's
// leader calls it every round. A worker without inquiries configured (no
// key to open messages, no address to notify) has no messages to delete:
// it enqueues nothing.
func (w *Worker) enqueueRetention(ctx context.Context) error {
	if w.Inquiries.Opener == nil && w.Inquiries.NotifyEmail == "" {
		return nil
	}
	return w.enqueue(ctx, NewRetentionTask(w.Instance, w.now()))
}

// handleRetention deletes the messages of inquiries received before now
// minus the retention; their rows stay.
func (w *Worker) handleRetention(ctx context.Context, _ *asynq.Task) error {
	cutoff := w.now().Add(-w.Options.InquiryRetention)
	n, err := w.DB.DeleteExpiredMessages(ctx, cutoff)
	if err != nil {
		return err
	}
	if n > 0 {
		w.Log.Info("inquiry_messages_deleted", "count", n, "older_than", w.Options.InquiryRetention.String())
	}
	return nil
}
