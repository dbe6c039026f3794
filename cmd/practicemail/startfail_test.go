package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store"
)

// When the worker cannot start, `run` stops what it had already started —
// the HTTP server — and fails with one line, instead of serving health
// checks for a process that sends nothing.
func TestRunThatCannotStartItsWorkerStopsServingHTTP(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	if err := h.db.SyncFeeds(ctx, []store.FeedSpec{{Name: "blog", URL: h.feed.FeedURL()}}); err != nil {
		t.Fatal(err)
	}
	f, err := h.db.FeedByName(ctx, "blog")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := h.db.SavePoll(ctx, f.ID, store.PollOutcome{Next: time.Now().Add(time.Hour), New: []store.Post{{
		Key: "guid:1", Title: "Hello", URL: "https://blog.example/1", Content: "<p>Hi</p>", Hash: "h"}}})
	if err != nil || len(ids) != 1 {
		t.Fatalf("save poll: %v %v", ids, err)
	}
	instance, err := h.db.InstanceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The post's fan-out task ID is taken in Redis by a key asynq cannot
	// read: the reconcile at start fails to learn that task's state.
	rdb := redistest.Client(t, redistest.Commands)
	key := fmt.Sprintf("asynq:{control}:t:%s:post:fanout:%d", instance, ids[0])
	if err := rdb.SAdd(ctx, "asynq:queues", "control").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, key, "not a task", 0).Err(); err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m := h.main()
	m.Env = []string{"PRACTICEMAIL_HTTP_ADDR=" + addr}
	m.Started = func(*App) { t.Error("run started with a worker that failed to start") }
	err = m.Execute(ctx, []string{"run", "--config", h.config})
	if err == nil {
		t.Fatal("run succeeded with a worker that could not start")
	}
	if !strings.Contains(err.Error(), "reconcile at start") || strings.Contains(err.Error(), "\n") {
		t.Errorf("the failure is %q; want one line saying the reconcile at start failed", err)
	}
	if c, dialErr := net.DialTimeout("tcp", addr, time.Second); dialErr == nil {
		c.Close()
		t.Fatalf("run failed (%v) but still serves HTTP on %s", err, addr)
	}
}
