package worker

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/store"
)

// When the reconciler cannot tell whether a task is still in Redis (the
// lookup fails, not "no such task"), the pass fails and says why, rather
// than taking the task for gone.
func TestReconcileReportsATaskLookupThatFails(t *testing.T) {
	db, _, newScheduler := schedulerSetup(t)
	ctx := context.Background()
	f, err := db.FeedByName(ctx, "blog")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SavePoll(ctx, f.ID, store.PollOutcome{Next: time.Now().Add(time.Hour), New: []store.Post{{
		Key: "guid:1", Title: "Hello", URL: "https://blog.example/1", Content: "<p>Hi</p>", Hash: "h"}}}); err != nil {
		t.Fatal(err)
	}
	w := newScheduler(&logtest.Buffer{}).W
	if n, err := w.Reconcile(ctx, false); err != nil || n != 1 {
		t.Fatalf("first pass: %d enqueued, %v; want the post's fan-out", n, err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now
	down := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1})
	defer down.Close()
	w.Inspector = asynq.NewInspectorFromRedisClient(down)
	if n, err := w.Reconcile(ctx, false); err == nil {
		t.Fatalf("second pass with the task lookup failing: %d enqueued and no error; want the failure reported", n)
	}
}
