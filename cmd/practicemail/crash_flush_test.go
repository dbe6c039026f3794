package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// TestRedisFlushMidFanout empties Redis while a post goes to 5,000
// subscribers, once about a fifth of them have it: SQL is the source of
// truth, so the reconciler puts back every task Redis lost, and everyone gets
// the post exactly once.
//
// The issue says FLUSHALL. This package's tests own Redis database 10 and
// nothing else; FLUSHALL would also wipe the databases of other packages'
// tests running at the same moment. practicemail keeps all it has in the one
// database its redis.url names, so FLUSHDB on that database is the same fault
// for it: every queued, scheduled and running task, every task ID kept for
// deduplication, and the scheduler's lock, gone at once.
func TestRedisFlushMidFanout(t *testing.T) {
	testFlush(t, "sqlite", flushWhileSending)
}

// TestRedisFlushWhileWritingBatches empties Redis while the fan-out is still
// writing the post's ledger rows, on each SQL engine: the tasks of the
// batches written so far are lost while the fan-out, forgotten by Redis,
// goes on enqueueing the rest, and the reconciler must find the lost ones
// without sending anything twice.
func TestRedisFlushWhileWritingBatches(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { testFlush(t, engine, flushWhileFanningOut) })
	}
}

// flushAt waits for its moment in the post's run, flushes Redis, and
// describes the moment.
type flushAt func(h *harness) string

func testFlush(t *testing.T, engine string, at flushAt) {
	h := newHarness(t, harnessOptions{engine: engine, items: []item{postItem(1)}, holdOver: 3})
	crashThrottleSMTP(h.smtp, 2*time.Millisecond)
	active := crashSeed(h)
	h.start()
	h.waitFor("the first poll", 30*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	h.feed.set(postItem(1), postItem(2))

	moment := at(h)
	flushed := time.Now()
	h.waitFor("5,000 sent in the ledger", 90*time.Second, func() bool {
		return h.deliveries()[store.DeliverySent] == crashAudience
	})
	recovery := time.Since(flushed)
	// Let the reconciler and the scheduler go round a few more times: nothing
	// may be sent again once all is done.
	h.waitPolls(2)
	h.stop()

	crashCheckLedger(t, h.db, crashPostID(h, store.PostSent), active)
	r := crashCheckMessages(t, h.smtp.Messages(), active, 0)
	if r.total != crashAudience {
		t.Errorf("SMTP server got %d messages, want %d", r.total, crashAudience)
	}
	passes, tasks := crashReconciled(h.logs.String())
	t.Logf("flushed %s; all sent %s later; %d messages, %d duplicates; %d reconciler pass(es) enqueued %d task(s); "+
		"%d fan-out run(s) finished", moment, recovery.Round(100*time.Millisecond), r.total, r.duplicates, passes, tasks,
		crashCountLines(h.logs.String(), "msg=fanout_done"))
}

// flushWhileSending flushes once about a fifth of the messages are out.
func flushWhileSending(h *harness) string {
	h.waitFor("1,000 messages", 60*time.Second, func() bool { return h.smtp.Count() >= 1000 })
	crashFlushRedis(h.t)
	return fmt.Sprintf("with %d messages at the server", h.smtp.Count())
}

// flushWhileFanningOut flushes once the fan-out has committed half its
// batches and before its last: the first half's tasks are lost, waiting or
// running, the rest are enqueued into the emptied Redis, and the running
// fan-out task itself is forgotten.
func flushWhileFanningOut(h *harness) string {
	ctx := context.Background()
	var postID int64
	h.waitFor("the new post", 30*time.Second, func() bool {
		for _, state := range []string{store.PostNew, store.PostSending} {
			if p, err := h.db.PostsInState(ctx, state, 0); err == nil && len(p) == 1 {
				postID = p[0].ID
				return true
			}
		}
		return false
	})
	// Closer than waitFor's 20ms: the fan-out takes a fraction of a second.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if rows, _, err := h.db.FanOutProgress(ctx, store.KindPost, postID); err == nil && rows >= crashAudience/2 {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the fan-out did not reach half its audience in 30s\nlogs (tail):\n%s", tail(h.logs.String(), logLines()))
		}
	}
	crashFlushRedis(h.t)
	rows, done, err := h.db.FanOutProgress(ctx, store.KindPost, postID)
	if err != nil {
		h.t.Fatal(err)
	}
	if done {
		h.t.Fatalf("the fan-out finished before Redis was flushed (%d rows written): the fault missed its moment", rows)
	}
	return fmt.Sprintf("with %d of %d ledger rows written", rows, crashAudience)
}

// crashReconciled adds up the reconciler's passes that enqueued something,
// and what they enqueued, from a text log.
func crashReconciled(log string) (passes, tasks int) {
	for _, l := range strings.Split(log, "\n") {
		_, n, ok := strings.Cut(l, " msg=reconciled enqueued=")
		if !ok {
			continue
		}
		if k, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			passes, tasks = passes+1, tasks+k
		}
	}
	return passes, tasks
}
