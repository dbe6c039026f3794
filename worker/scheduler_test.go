package worker

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// lockedBuffer is a log sink safe for the schedulers' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// schedulerSetup returns a database with one due feed, the Redis client the
// test queue uses, and a way to make schedulers on them.
func schedulerSetup(t *testing.T) (*store.DB, redis.UniversalClient, func(log *lockedBuffer) *Scheduler) {
	t.Helper()
	db := storetest.Open(t, "sqlite")
	if err := db.SyncFeeds(context.Background(), []store.FeedSpec{{Name: "blog", URL: "https://blog.example/feed"}}); err != nil {
		t.Fatal(err)
	}
	q := testQueue(t)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: testRedisDB()})
	t.Cleanup(func() { rdb.Close() })
	return db, rdb, func(log *lockedBuffer) *Scheduler {
		w := New(Options{})
		w.DB, w.Queue = db, q
		w.Inspector = asynq.NewInspectorFromRedisClient(rdb)
		w.Log = slog.New(slog.NewTextHandler(log, nil))
		return &Scheduler{W: w, Redis: rdb, Tick: 20 * time.Millisecond, Reconcile: time.Hour, LockKey: "practicemail:test-scheduler"}
	}
}

// Two schedulers: one leads, the other stands by, and the due poll is
// enqueued once however many ticks pass.
func TestOneSchedulerLeadsAndPollsAreEnqueuedOnce(t *testing.T) {
	_, rdb, newScheduler := schedulerSetup(t)
	logA, logB := &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []*Scheduler{newScheduler(logA), newScheduler(logB)} {
		wg.Add(1)
		go func() { defer wg.Done(); s.Run(ctx) }()
	}
	time.Sleep(500 * time.Millisecond) // 25 ticks each
	cancel()
	wg.Wait()
	leaders := strings.Count(logA.String()+logB.String(), "leader=true")
	if leaders != 1 {
		t.Fatalf("%d schedulers led, want 1\nA:\n%s\nB:\n%s", leaders, logA.String(), logB.String())
	}
	tasks, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(QueueControl)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Type != TypeFeedPoll {
		t.Fatalf("%d pending control tasks, want the one feed poll", len(tasks))
	}
}

// A lock left by a scheduler that died on this host is taken over at once,
// not after it expires.
func TestSchedulerTakesOverADeadLocalLock(t *testing.T) {
	_, rdb, newScheduler := schedulerSetup(t)
	s := newScheduler(&lockedBuffer{})
	dead := s.W.identity.host + "/999999999/dead/0"
	if err := rdb.Set(context.Background(), s.LockKey, dead, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if !s.hold(context.Background(), "me") {
		t.Fatal("the lock of a dead local scheduler was not taken over")
	}
	alive := "another-host/1/boot/0"
	rdb.Set(context.Background(), s.LockKey, alive, time.Minute)
	if s.hold(context.Background(), "me") {
		t.Fatal("took the lock of a scheduler on another host that may be alive")
	}
}

// testRedisDB is the worker tests' Redis database: 11, or
// PRACTICEMAIL_TEST_REDIS_DB_WORKER.
func testRedisDB() int {
	if n, err := strconv.Atoi(os.Getenv("PRACTICEMAIL_TEST_REDIS_DB_WORKER")); err == nil {
		return n
	}
	return 11
}

// A database made afresh beside the tasks an earlier one left in Redis (kept
// there for their retention period) still gets its polls: task IDs carry
// the database's instance ID. Before, the new database's first poll of feed
// 1 had the ID of the old one's, and was dropped as a duplicate.
func TestTaskIDsBelongToTheirDatabase(t *testing.T) {
	_, rdb, newScheduler := schedulerSetup(t)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	ctx := context.Background()
	for i, instance := range []string{"0123456789", "abcdefabcd"} {
		s := newScheduler(&lockedBuffer{})
		s.W.Instance = instance
		s.W.DB = storetest.Open(t, "sqlite") // a fresh database: feed 1 again, never polled
		if err := s.W.DB.SyncFeeds(ctx, []store.FeedSpec{{Name: "blog", URL: "https://blog.example/feed"}}); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		s.Run(runCtx)
		cancel()
		tasks, err := insp.ListPendingTasks(QueueControl)
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) != i+1 {
			t.Fatalf("after database %d: %d pending polls, want %d", i+1, len(tasks), i+1)
		}
		for _, task := range tasks {
			if !strings.HasPrefix(task.ID, "0123456789:") && !strings.HasPrefix(task.ID, "abcdefabcd:") {
				t.Fatalf("task ID %q does not name its database", task.ID)
			}
		}
	}
}
