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
	if err := db.SyncFeeds(context.Background(), []store.FeedSpec{blogSpec}); err != nil {
		t.Fatal(err)
	}
	q := testQueue(t)
	rdb := redistest.Client(t, redistest.Worker)
	return db, rdb, func(log *logtest.Buffer) *Scheduler {
		w := New(db, Options{})
		w.Queue = q
		w.Inspector = asynq.NewInspectorFromRedisClient(rdb)
		w.Log = slog.New(slog.NewTextHandler(log, nil))
		return &Scheduler{W: w, Redis: rdb, Feeds: []store.FeedSpec{blogSpec}, Tick: 20 * time.Millisecond, Reconcile: time.Hour, LockKey: "practicemail:test-scheduler"}
	}
}

// blogSpec is the feed the schedulers of these tests are configured with.
var blogSpec = store.FeedSpec{Name: "blog", URL: "https://blog.example/feed", Every: 15 * time.Minute, HoldOver: 3}

// rounds follows a scheduler's rounds through its afterRound hook, so a
// test waits for rounds rather than for time to pass.
type rounds struct {
	mu      sync.Mutex
	n, led  int  // rounds finished, and of them led
	leading bool // whether it led the last
	more    chan struct{}
}

func watchRounds(s *Scheduler) *rounds {
	r := &rounds{more: make(chan struct{}, 1)}
	s.afterRound = func(leader bool) {
		r.mu.Lock()
		r.n++
		if leader {
			r.led++
		}
		r.leading = leader
		r.mu.Unlock()
		select {
		case r.more <- struct{}{}:
		default:
		}
	}
	return r
}

// wait waits until the scheduler has finished n rounds in all, and returns
// how many of them it led and whether it led the last.
func (r *rounds) wait(t *testing.T, n int) (led int, leading bool) {
	t.Helper()
	hung := time.After(time.Minute) // a hang, not a speed limit
	for {
		r.mu.Lock()
		done, led, leading := r.n, r.led, r.leading
		r.mu.Unlock()
		if done >= n {
			return led, leading
		}
		select {
		case <-r.more:
		case <-hung:
			t.Fatalf("the scheduler finished %d of %d rounds in a minute", done, n)
		}
	}
}

func (r *rounds) finished() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// runUntilItLeads runs s until it has led one round.
func runUntilItLeads(t *testing.T, s *Scheduler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang, not a speed limit
	defer cancel()
	led := false
	s.afterRound = func(leader bool) {
		if leader {
			led = true
			cancel()
		}
	}
	s.Run(ctx)
	if !led {
		t.Fatal("the scheduler never led")
	}
}

// Two schedulers: while both run, one leads and the other stands by, and
// the due poll is enqueued once however many rounds pass. When the leader
// stops it lets go of the lock, and the one standing by takes over at its
// next round rather than after the lock would have expired.
func TestOneSchedulerLeadsAndPollsAreEnqueuedOnce(t *testing.T) {
	_, rdb, newScheduler := schedulerSetup(t)
	var cancels []context.CancelFunc
	var wgs []*sync.WaitGroup
	var rs []*rounds
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		wg := &sync.WaitGroup{}
		wg.Add(1)
		s := newScheduler(&logtest.Buffer{})
		rs = append(rs, watchRounds(s))
		go func() { defer wg.Done(); s.Run(ctx) }()
		cancels, wgs = append(cancels, cancel), append(wgs, wg)
	}
	stop := func(i int) { cancels[i](); wgs[i].Wait() }
	defer stop(0)
	defer stop(1)

	led0, _ := rs[0].wait(t, 25)
	led1, _ := rs[1].wait(t, 25) // 25 rounds each, both running
	if (led0 > 0) == (led1 > 0) {
		t.Fatalf("scheduler A led %d rounds and B %d while both ran; want one of them only", led0, led1)
	}
	tasks, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(QueueControl)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Type != TypeFeedPoll {
		t.Fatalf("%d pending control tasks, want the one feed poll", len(tasks))
	}

	leader, standby := 0, 1
	if led1 > 0 {
		leader, standby = 1, 0
	}
	stop(leader) // it lets go of the lock before it returns
	// The round under way may have begun before; the one after it began
	// with the lock free. The lock would expire only after 15 s.
	n := rs[standby].finished()
	if _, leading := rs[standby].wait(t, n+2); !leading {
		t.Fatal("the scheduler standing by did not take over at its next round when the leader stopped")
	}
	// The new leader enqueues the same due poll: same ID, still one task.
	rs[standby].wait(t, n+3)
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
		if err := s.W.DB.SyncFeeds(ctx, []store.FeedSpec{blogSpec}); err != nil {
			t.Fatal(err)
		}
		runUntilItLeads(t, s)
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
	run := func() { runUntilItLeads(t, newScheduler(&logtest.Buffer{})) }
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

// Only the leading scheduler applies its configuration to the feeds table. A
// second one started without feeds used to switch off the leader's feed; now
// it stands by, says how its configuration differs, and applies it only
// when it takes over.
func TestAStandbySchedulerLeavesTheLeadersFeedsAlone(t *testing.T) {
	db, _, newScheduler := schedulerSetup(t)
	logs := []*logtest.Buffer{{}, {}}
	leader, standby := newScheduler(logs[0]), newScheduler(logs[1])
	leader.Feeds = []store.FeedSpec{{Name: "blog", URL: blogSpec.URL, Every: 30 * time.Second, HoldOver: 3}}
	standby.Feeds = []store.FeedSpec{}
	dump := func() string { return "leader:\n" + logs[0].String() + "\nstandby:\n" + logs[1].String() }
	waitLog := func(i int, what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(logs[i].String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q\n%s", what, dump())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ctxL, stopL := context.WithCancel(context.Background())
	var wgL, wgS sync.WaitGroup
	wgL.Add(1)
	go func() { defer wgL.Done(); leader.Run(ctxL) }()
	defer func() { stopL(); wgL.Wait() }()
	waitLog(0, "leader=true")
	ctxS, stopS := context.WithCancel(context.Background())
	wgS.Add(1)
	go func() { defer wgS.Done(); standby.Run(ctxS) }()
	defer func() { stopS(); wgS.Wait() }()

	waitLog(1, "config_differs_from_leader")
	if !strings.Contains(logs[1].String(), "feed blog: the running scheduler polls it, this configuration does not name it") {
		t.Fatalf("the standby's warning does not name the difference\n%s", dump())
	}
	f, err := db.FeedByName(context.Background(), "blog")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Enabled || f.Every != 30*time.Second {
		t.Fatalf("with a standby running: blog enabled %v every %s; want the leader's: enabled, 30s\n%s", f.Enabled, f.Every, dump())
	}
	stopL()
	wgL.Wait()
	waitLog(1, "leader=true")
	deadline := time.Now().Add(5 * time.Second)
	for f.Enabled {
		if time.Now().After(deadline) {
			t.Fatalf("the new leader did not apply its configuration (no feeds)\n%s", dump())
		}
		time.Sleep(10 * time.Millisecond)
		if f, err = db.FeedByName(context.Background(), "blog"); err != nil {
			t.Fatal(err)
		}
	}
}

// The leader keeps the feeds table to its configuration as it runs: a table
// changed under it (by a `poll` that found no scheduler, say, or an older
// leader) is put back at its next reconcile.
func TestTheLeaderPutsItsFeedsBackWhenTheTableIsChanged(t *testing.T) {
	db, _, newScheduler := schedulerSetup(t)
	log := &logtest.Buffer{}
	s := newScheduler(log)
	s.Reconcile = 50 * time.Millisecond
	r := watchRounds(s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for n := 1; ; n++ {
		if _, leading := r.wait(t, n); leading {
			break
		}
	}
	other := store.FeedSpec{Name: "blog", URL: blogSpec.URL, Every: time.Minute, HoldOver: 3}
	if err := db.SyncFeeds(context.Background(), []store.FeedSpec{other}); err != nil {
		t.Fatal(err)
	}
	// A round's log lines are written before its end: once a round has put
	// the table back, it has said so.
	hung := time.After(time.Minute) // a hang, not a speed limit
	for n := r.finished() + 1; ; n++ {
		r.wait(t, n)
		f, err := db.FeedByName(context.Background(), "blog")
		if err != nil {
			t.Fatal(err)
		}
		if f.Every == blogSpec.Every {
			break
		}
		select {
		case <-hung:
			t.Fatalf("the leader left the table at every %s, want its own %s\n%s", f.Every, blogSpec.Every, log)
		default:
		}
	}
	if !strings.Contains(log.String(), "feeds_configuration_applied") {
		t.Fatalf("the leader did not say it applied its configuration\n%s", log)
	}
}
