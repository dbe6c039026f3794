package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/store"
)

// Reconcile makes Redis agree with SQL. It puts back the rows of senders on
// this host that died (without waiting for their leases to expire), and
// enqueues a task for every post whose fan-out is unfinished and every batch
// with rows to send that no task in Redis will pick up: after a crash between
// a commit and an enqueue, or after Redis lost its data. It returns how many
// tasks it enqueued. Enqueueing what is already there is a no-op. At start,
// a fan-out or batch that asynq still believes running is rescued at once
// (asynq would hand it back only after its lease and recoverer, about a
// minute): if its worker is in fact alive, leases keep the rescue harmless.
func (w *Worker) Reconcile(ctx context.Context, atStart bool) (int, error) {
	if err := w.reclaimDead(ctx); err != nil {
		return 0, err
	}
	n := 0
	for _, state := range []string{store.PostNew, store.PostSending} {
		posts, err := w.DB.PostsInState(ctx, state, 0)
		if err != nil {
			return n, err
		}
		for _, p := range posts {
			since := w.now() // a running fan-out is left alone…
			if atStart {
				since = time.Time{} // …except at start
			}
			id, postID := fanoutTaskID(w.Instance, p.ID), p.ID
			added, err := w.ensure(ctx, id, QueueControl, since, func(round string) *asynq.Task {
				return newPostFanoutTask(w.Instance, postID, round)
			})
			if err != nil {
				return n, err
			}
			n += added
		}
	}
	batches, err := w.DB.OpenBatches(ctx)
	if err != nil {
		return n, err
	}
	for _, b := range batches {
		since := b.Due
		if atStart && !since.After(w.now()) {
			since = time.Time{} // rows just reclaimed from a dead sender: rescue at once
		}
		ref := b.BatchRef
		added, err := w.ensure(ctx, deliverTaskID(w.Instance, ref), QueueMail, since, func(round string) *asynq.Task {
			return NewDeliverTask(w.Instance, ref, round)
		})
		if err != nil {
			return n, err
		}
		n += added
	}
	added, err := w.reconcileInquiries(ctx, atStart)
	return n + added, err
}

// orphanAfter is how long queued work may sit under a task asynq believes is
// running before Reconcile adds a rescue task beside it.
const orphanAfter = 10 * time.Second

// ensure enqueues the task with ID id, made by newTask, unless it is waiting
// to run. Its work has been waiting since since. A finished task kept for its
// ID is replaced; a running one that left its work undone for a while (its
// worker died, and asynq will notice only when its lease runs out) gets a
// rescue task beside it, a round of its own. Leases keep the two from
// sending one row twice.
func (w *Worker) ensure(ctx context.Context, id, queue string, since time.Time, newTask func(round string) *asynq.Task) (int, error) {
	var opts []asynq.Option
	if since.After(w.now()) {
		opts = append(opts, asynq.ProcessAt(wholeSecondAfter(since)))
	}
	_, err := w.Queue.EnqueueContext(ctx, newTask(""), opts...)
	if err == nil {
		return 1, nil
	}
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return 0, fmt.Errorf("enqueue %s: %w", id, err)
	}
	info, err := w.Inspector.GetTaskInfo(queue, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return 0, nil // gone between the two calls: the next pass sees it
	}
	if err != nil {
		// Not knowing is not "gone": Redis may be down. The pass fails and
		// is tried again later; nothing is enqueued on a guess.
		return 0, fmt.Errorf("look up task %s: %w", id, err)
	}
	switch info.State {
	case asynq.TaskStateCompleted, asynq.TaskStateArchived:
		if err := w.Inspector.DeleteTask(queue, id); err != nil {
			return 0, fmt.Errorf("delete finished task %s: %w", id, err)
		}
		return w.ensure(ctx, id, queue, since, newTask)
	case asynq.TaskStateActive:
		if w.now().Sub(since) < orphanAfter {
			return 0, nil
		}
		return 1, w.enqueue(ctx, newTask("rescue"+strconv.FormatInt(w.now().Unix()/60, 10)))
	}
	return 0, nil // pending, scheduled or retry: it will run
}

// reclaimDead releases rows leased by processes on this host that no longer
// run, or by an earlier life of this very process ID (a restarted container's
// PID 1). Owners elsewhere are left to their lease expiry.
func (w *Worker) reclaimDead(ctx context.Context) error {
	owners, err := w.DB.LeaseOwners(ctx)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if !w.identity.deadOnThisHost(o) {
			continue
		}
		n, err := w.DB.ReleaseOwner(ctx, o)
		if err != nil {
			return err
		}
		w.Log.Info("reclaimed_dead_lease", "owner", o, "rows", n)
	}
	return nil
}

// deadOnThisHost reports whether owner (host/pid/boot/nonce) names a process
// on this host that is gone.
func (id identity) deadOnThisHost(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 4 || parts[0] != id.host {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil {
		return false
	}
	if pid == id.pid {
		return parts[2] != id.boot
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
