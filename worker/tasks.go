// Package worker turns feed items into deliveries and deliveries into email, as
// asynq tasks. SQL is the source of truth: every task re-reads the ledger, so a
// task that runs twice, late, or after Redis lost its data does no harm.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/store"
)

// Task types.
const (
	TypeFeedPoll   = "feed:poll"     // poll one feed
	TypePostFanout = "post:fanout"   // write a post's ledger rows and enqueue their sends
	TypeDeliver    = "delivery:send" // send one batch of ledger rows
)

// Queues: control work (polls, fan-outs) is never stuck behind a long send.
const (
	QueueControl = "control"
	QueueMail    = "mail"
)

// Queues is the asynq queue configuration with weights.
var Queues = map[string]int{QueueControl: 5, QueueMail: 5}

// retention keeps a finished task's ID in Redis so that enqueueing it again is a no-op.
const retention = 24 * time.Hour

// FeedPollPayload names the feed to poll and the poll it is (its due time),
// so two schedulers enqueueing the same poll make one task.
type FeedPollPayload struct {
	FeedID int64 `json:"feed_id"`
	Due    int64 `json:"due"` // unix ms
}

// Every task ID begins with ns, the database's instance ID (Worker.Instance):
// two databases that share a Redis — a database made afresh after `rm -rf
// data`, beside the tasks its predecessor left for the retention period, or
// a test database beside a real one — never take each other's finished
// tasks for their own. Without it a fresh database's first poll of feed 1
// matched the old one's and was dropped as already done.
func scoped(ns, id string) string {
	if ns == "" {
		return id
	}
	return ns + ":" + id
}

// NewFeedPollTask returns the task polling a feed that is due at due.
func NewFeedPollTask(ns string, feedID int64, due time.Time) *asynq.Task {
	p := FeedPollPayload{FeedID: feedID, Due: due.UnixMilli()}
	return asynq.NewTask(TypeFeedPoll, mustJSON(p),
		asynq.TaskID(pollTaskID(ns, feedID, due)),
		asynq.Queue(QueueControl), asynq.MaxRetry(0), asynq.Retention(time.Hour), asynq.Timeout(5*time.Minute))
}

func pollTaskID(ns string, feedID int64, due time.Time) string {
	return scoped(ns, fmt.Sprintf("feed:poll:%d:%d", feedID, due.UnixMilli()))
}

// PostFanoutPayload names the post to fan out.
type PostFanoutPayload struct {
	PostID int64 `json:"post_id"`
}

// NewPostFanoutTask returns the task fanning a post out to its subscribers.
func NewPostFanoutTask(ns string, postID int64) *asynq.Task { return newPostFanoutTask(ns, postID, "") }

// newPostFanoutTask is NewPostFanoutTask with a round (see NewDeliverTask).
func newPostFanoutTask(ns string, postID int64, round string) *asynq.Task {
	return asynq.NewTask(TypePostFanout, mustJSON(PostFanoutPayload{PostID: postID}),
		asynq.TaskID(withRound(fanoutTaskID(ns, postID), round)),
		asynq.Queue(QueueControl), asynq.MaxRetry(25), asynq.Retention(retention), asynq.Timeout(time.Hour))
}

func fanoutTaskID(ns string, postID int64) string {
	return scoped(ns, fmt.Sprintf("post:fanout:%d", postID))
}

// DeliverPayload names a batch of ledger rows.
type DeliverPayload struct {
	Kind   string `json:"kind"`
	Source int64  `json:"source"`
	Batch  int64  `json:"batch"`
}

// NewDeliverTask returns the task sending batch b. round tells apart the
// rounds of one batch (0 first, then one per retry round or rescue), each its
// own task ID.
func NewDeliverTask(ns string, b store.BatchRef, round string) *asynq.Task {
	return asynq.NewTask(TypeDeliver, mustJSON(DeliverPayload{Kind: b.Kind, Source: b.SourceID, Batch: b.Batch}),
		asynq.TaskID(withRound(deliverTaskID(ns, b), round)),
		asynq.Queue(QueueMail), asynq.MaxRetry(25), asynq.Retention(retention), asynq.Timeout(2*time.Hour))
}

func deliverTaskID(ns string, b store.BatchRef) string {
	return scoped(ns, fmt.Sprintf("delivery:%s:%d:%d", b.Kind, b.SourceID, b.Batch))
}

func withRound(id, round string) string {
	if round == "" {
		return id
	}
	return id + ":" + round
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the payloads are plain structs of numbers and strings
	}
	return b
}

// decode unmarshals a payload; a bad one is never retried.
func decode(t *asynq.Task, v any) error {
	if err := json.Unmarshal(t.Payload(), v); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return nil
}

// Register wires the worker's handlers into mux.
func (w *Worker) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeFeedPoll, w.tracked(w.handleFeedPoll))
	mux.HandleFunc(TypePostFanout, w.tracked(w.handlePostFanout))
	mux.HandleFunc(TypeDigestFanout, w.tracked(w.handleDigestFanout))
	mux.HandleFunc(TypeDeliver, w.tracked(w.handleDeliver))
	mux.HandleFunc(TypeInquiry, w.tracked(w.handleInquiry))
	mux.HandleFunc(TypeStep, w.tracked(w.handleStep))
	mux.HandleFunc(TypeRetention, w.tracked(w.handleRetention))
}

// enqueue adds a task; a task with the same ID already there is success.
func (w *Worker) enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) error {
	_, err := w.Queue.EnqueueContext(ctx, t, opts...)
	if err == nil || errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return fmt.Errorf("enqueue %s: %w", t.Type(), err)
}

// EnqueueDelivery enqueues the send of batch b, whose ledger rows are
// already committed: the web's sign-up form calls it. A failed enqueue
// loses nothing: the reconciler finds queued rows that have no task.
//
// A sign-up batch gathers the requests of one window (store.SignupBatchEnd):
// its one task, which every request of the window enqueues, runs
// signupGrace after the window is over, once they are all committed. A
// request committed later than that, when the task may have run already,
// gets a round of its own, run at once: the lease keeps the two rounds
// from sending a row twice.
//
// Once this process has enqueued a window's task, the window's later
// requests here do not ask Redis again (at 100 sign-ups a second, 99
// enqueues a second that each found the task there). Should Redis lose the
// task meanwhile, the reconciler puts it back, as for any lost task.
func (w *Worker) EnqueueDelivery(ctx context.Context, b store.BatchRef) error {
	end, ok := store.SignupBatchEnd(b)
	if !ok {
		return w.enqueue(ctx, NewDeliverTask(w.Instance, b, ""))
	}
	// Half the grace is kept back for the clocks of the web and the worker
	// to disagree.
	now := w.now()
	if now.Before(end.Add(signupGrace / 2)) {
		if w.signupTasks.enqueued(b) {
			return nil
		}
		if err := w.enqueue(ctx, NewDeliverTask(w.Instance, b, ""), asynq.ProcessAt(end.Add(signupGrace))); err != nil {
			return err
		}
		w.signupTasks.remember(b)
		return nil
	}
	return w.enqueue(ctx, NewDeliverTask(w.Instance, b, "late"+strconv.FormatInt(now.UnixNano(), 36)))
}

// signupTasks is the sign-up windows whose scheduled task this process
// has enqueued, the latest per kind: a window's requests arrive together.
type signupTasks struct {
	mu     sync.Mutex
	latest map[string]int64 // kind → window (BatchRef.SourceID)
}

func (s *signupTasks) enqueued(b store.BatchRef) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.latest[b.Kind]
	return ok && w == b.SourceID
}

func (s *signupTasks) remember(b store.BatchRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latest == nil {
		s.latest = map[string]int64{}
	}
	s.latest[b.Kind] = max(s.latest[b.Kind], b.SourceID)
}

// signupGrace is how long after a sign-up window its batch is sent: time
// for the window's last transactions to commit. asynq releases a task
// scheduled at a whole second no earlier than that second.
const signupGrace = time.Second
