package worker

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// schedulerSetup returns a database with one due feed, the Redis client the
// test queue uses, and a way to make schedulers on them.
func schedulerSetup(t *testing.T) (*store.DB, redis.UniversalClient, func(log *logtest.Buffer) *Scheduler) {
	t.Helper()
	db := storetest.Open(t, "sqlite")
	if err := db.SyncFeeds(context.Background(), []store.FeedSpec{{Name: "blog", URL: "https://blog.example/feed"}}); err != nil {
		t.Fatal(err)
	}
	q := testQueue(t)
	rdb := redistest.Client(t, redistest.Worker)
	return db, rdb, func(log *logtest.Buffer) *Scheduler {
		w := New(db, Options{})
		w.Queue = q
		w.Inspector = asynq.NewInspectorFromRedisClient(rdb)
		w.Log = slog.New(slog.NewTextHandler(log, nil))
		return &Scheduler{W: w, Redis: rdb, Tick: 20 * time.Millisecond, Reconcile: time.Hour, LockKey: "practicemail:test-scheduler"}
	}
}

// Two schedulers: while both run, one leads and the other stands by, and
// the due poll is enqueued once however many ticks pass. When the leader
// stops it lets go of the lock, and the one standing by takes over at its
// next tick rather than after the lock would have expired.
func TestOneSchedulerLeadsAndPollsAreEnqueuedOnce(t *testing.T) {
	_, rdb, newScheduler := schedulerSetup(t)
	logs := []*logtest.Buffer{{}, {}}
	var cancels []context.CancelFunc
	var wgs []*sync.WaitGroup
	for _, log := range logs {
		ctx, cancel := context.WithCancel(context.Background())
		wg := &sync.WaitGroup{}
		wg.Add(1)
		s := newScheduler(log)
		go func() { defer wg.Done(); s.Run(ctx) }()
		cancels, wgs = append(cancels, cancel), append(wgs, wg)
	}
	stop := func(i int) { cancels[i](); wgs[i].Wait() }
	defer stop(0)
	defer stop(1)
	dump := func() string { return "A:\n" + logs[0].String() + "\nB:\n" + logs[1].String() }

	time.Sleep(500 * time.Millisecond) // 25 ticks each, both running
	led := func(i int) int { return strings.Count(logs[i].String(), "leader=true") }
	if led(0)+led(1) != 1 {
		t.Fatalf("%d schedulers led while both ran, want 1\n%s", led(0)+led(1), dump())
	}
	tasks, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(QueueControl)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Type != TypeFeedPoll {
		t.Fatalf("%d pending control tasks, want the one feed poll", len(tasks))
	}

	leader, standby := 0, 1
	if led(1) == 1 {
		leader, standby = 1, 0
	}
	stop(leader)
	deadline := time.Now().Add(5 * time.Second) // far less than the lock's 15 s
	for led(standby) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler standing by did not take over when the leader stopped\n%s", dump())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The new leader enqueues the same due poll: same ID, still one task.
	time.Sleep(100 * time.Millisecond)
	if tasks, err = asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(QueueControl); err != nil || len(tasks) != 1 {
		t.Fatalf("after the handover: %d pending control tasks (%v), want the one feed poll", len(tasks), err)
	}
}

// A lock left by a scheduler that died on this host is taken over at once,
// not after it expires.
func TestSchedulerTakesOverADeadLocalLock(t *testing.T) {
	_, rdb, newScheduler := schedulerSetup(t)
	s := newScheduler(&logtest.Buffer{})
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

// A database made afresh beside the tasks an earlier one left in Redis (kept
// there for their retention period) still gets its polls: task IDs carry
// the database's instance ID. Before, the new database's first poll of feed
// 1 had the ID of the old one's, and was dropped as a duplicate.
func TestTaskIDsBelongToTheirDatabase(t *testing.T) {
	_, rdb, newScheduler := schedulerSetup(t)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	ctx := context.Background()
	for i, instance := range []string{"0123456789", "abcdefabcd"} {
		s := newScheduler(&logtest.Buffer{})
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

// Redis down is one warning, however many ticks it lasts, and one line when
// it answers again.
func TestSchedulerWarnsOncePerOutage(t *testing.T) {
	_, rdb, newScheduler := schedulerSetup(t)
	log := &logtest.Buffer{}
	s := newScheduler(log)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now
	down := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1})
	defer down.Close()
	s.Redis = down
	for range 5 {
		if s.hold(context.Background(), "me") {
			t.Fatal("held a lock in a Redis that does not answer")
		}
	}
	s.Redis = rdb
	if !s.hold(context.Background(), "me") {
		t.Fatal("did not take the lock once Redis answered")
	}
	if n := strings.Count(log.String(), "scheduler_lock_failed"); n != 1 {
		t.Errorf("%d warnings for one outage, want 1:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "scheduler_lock_reachable_again") {
		t.Errorf("no line saying Redis answers again:\n%s", log.String())
	}
}

// A poll that died (its task archived: polls are not retried by asynq, and
// its recoverer archives a poll whose worker was killed) leaves the feed due
// at the same time, so the scheduler makes the same task ID again. That ID
// must not keep the feed from being polled for as long as asynq keeps the
// archived task.
func TestArchivedPollDoesNotStopTheFeed(t *testing.T) {
	_, rdb, newScheduler := schedulerSetup(t)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		newScheduler(&logtest.Buffer{}).Run(ctx)
	}
	run()
	tasks, err := insp.ListPendingTasks(QueueControl)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("%d pending polls (%v), want 1", len(tasks), err)
	}
	if err := insp.ArchiveTask(QueueControl, tasks[0].ID); err != nil {
		t.Fatal(err)
	}
	run()
	pending, err := insp.ListPendingTasks(QueueControl)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 {
		t.Fatalf("after the poll task was archived, %d pending polls, want 1: the feed is never polled again", len(pending))
	}
}
