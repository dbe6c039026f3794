package worker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/store"
)

// Scheduler enqueues feed polls when they are due, starts campaigns whose
// time has come (runCampaigns), writes the digests that are due
// (scheduleDigests), and runs the reconciler. It
// is driven by SQL (each feed's next_poll_at), not by asynq's Scheduler, and
// each poll's task ID names its due time, so even two schedulers would make
// one task per poll (asynq #371, #653). Still, only one runs: it holds a lock
// in Redis, and a second stands by until the lock is free.
//
// The leader owns the feeds table: it applies its configuration (Feeds) when
// it gains the lock, and again whenever the table has come to differ from it
// (checked as often as it reconciles). A scheduler standing by never writes
// the table; it logs how its configuration differs from the leader's, which
// it would apply if it took over.
type Scheduler struct {
	W         *Worker
	Redis     redis.UniversalClient
	Feeds     []store.FeedSpec // the configured feeds, applied while leading
	Tick      time.Duration    // how often to look for due feeds [1s]
	Reconcile time.Duration    // how often to reconcile [30s]; at most half of stepHorizon
	LockKey   string           // [SchedulerLockKey]

	lockErr string // the last error taking the lock, logged once until it changes
	applied bool   // this leadership has applied Feeds to the table
	differs string // the differences from the leader last logged while standing by
	// afterRound, when set, is called at the end of every round with
	// whether this scheduler led it: tests wait on rounds, not on time.
	afterRound func(leader bool)
}

// SchedulerLockKey is the Redis key the leading scheduler holds.
const SchedulerLockKey = "practicemail:scheduler"

// SchedulerLeading reports whether a scheduler holds the lock in Redis: one
// is running, and the feeds table holds its configuration.
func SchedulerLeading(ctx context.Context, rdb redis.UniversalClient) (bool, error) {
	n, err := rdb.Exists(ctx, SchedulerLockKey).Result()
	if err != nil {
		return false, fmt.Errorf("look for a running scheduler: %w", err)
	}
	return n == 1, nil
}

const lockTTL = 15 * time.Second

// Run works until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.Tick <= 0 {
		s.Tick = time.Second
	}
	if s.Reconcile <= 0 {
		s.Reconcile = 30 * time.Second
	}
	// A lost step task is re-created by a pass within stepHorizon of its
	// due time: passes must come more often than that.
	s.Reconcile = min(s.Reconcile, stepHorizon/2)
	if s.LockKey == "" {
		s.LockKey = SchedulerLockKey
	}
	me := s.W.identity.owner()
	s.lockErr, s.applied, s.differs = "", false, ""
	defer s.Redis.Eval(context.WithoutCancel(ctx), releaseLock, []string{s.LockKey}, me)
	tick := time.NewTicker(s.Tick)
	defer tick.Stop()
	leader, lastReconcile := false, time.Time{}
	for {
		was := leader
		leader = s.hold(ctx, me)
		if leader != was {
			s.W.Log.Info("scheduler_leadership", "leader", leader)
			s.applied, s.differs = false, ""
		}
		if !leader && s.lockErr == "" {
			s.compareWithLeader(ctx)
		}
		if leader && !s.applied {
			s.applied = s.applyFeeds(ctx)
		}
		if leader {
			s.enqueueDuePolls(ctx)
			if err := s.W.runCampaigns(ctx); err != nil && ctx.Err() == nil {
				s.W.Log.Warn("campaigns_failed", "error", err)
			}
			if err := s.W.enqueueRetention(ctx); err != nil && ctx.Err() == nil {
				s.W.Log.Warn("retention_enqueue_failed", "error", err)
			}
			if err := s.W.scheduleDigests(ctx); err != nil && ctx.Err() == nil {
				s.W.Log.Warn("digests_not_scheduled", "error", err)
			}
			if s.W.now().Sub(lastReconcile) >= s.Reconcile {
				s.applied = s.applyFeeds(ctx)
				if n, err := s.W.Reconcile(ctx, false); err != nil {
					if ctx.Err() == nil { // not merely shutting down
						s.W.Log.Warn("reconcile_failed", "error", err)
					}
				} else if n > 0 {
					s.W.Log.Info("reconciled", "enqueued", n)
				}
				lastReconcile = s.W.now()
			}
		}
		if s.afterRound != nil {
			s.afterRound(leader)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// hold takes or keeps the scheduler lock and reports whether we have it. A
// lock left by a dead scheduler on this host is taken over at once rather
// than after its expiry.
func (s *Scheduler) hold(ctx context.Context, me string) bool {
	ok, err := s.Redis.Eval(ctx, takeLock, []string{s.LockKey}, me, lockTTL.Milliseconds()).Int()
	if err != nil {
		// Once per outage, not once a tick: Redis down for an hour is one line.
		if ctx.Err() == nil && err.Error() != s.lockErr {
			s.W.Log.Warn("scheduler_lock_failed", "error", err, "retry_every", s.Tick.String())
		}
		s.lockErr = err.Error()
		return false
	}
	if s.lockErr != "" {
		s.W.Log.Info("scheduler_lock_reachable_again")
		s.lockErr = ""
	}
	if ok == 1 {
		return true
	}
	holder, err := s.Redis.Get(ctx, s.LockKey).Result()
	if err != nil || !s.W.identity.deadOnThisHost(holder) {
		return false
	}
	s.Redis.Eval(ctx, releaseLock, []string{s.LockKey}, holder)
	s.W.Log.Info("scheduler_lock_taken_over", "dead_holder", holder)
	return s.hold(ctx, me)
}

// takeLock sets the lock if free, or extends it if ours.
const takeLock = `
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`

// applyFeeds makes the feeds table hold this scheduler's configuration, if
// it does not already, and reports whether it does now.
func (s *Scheduler) applyFeeds(ctx context.Context) bool {
	diffs, err := s.diffs(ctx)
	if err == nil && len(diffs) > 0 {
		err = s.W.DB.SyncFeeds(ctx, s.Feeds)
	}
	if err != nil {
		if ctx.Err() == nil {
			s.W.Log.Warn("feeds_configuration_not_applied", "error", err)
		}
		return false
	}
	if len(diffs) > 0 {
		s.W.Log.Info("feeds_configuration_applied", "feeds", len(s.Feeds), "changes", diffStrings(diffs))
	}
	return true
}

// compareWithLeader logs how this standby's configuration differs from the
// one the leader applied, when that changes.
func (s *Scheduler) compareWithLeader(ctx context.Context) {
	diffs, err := s.diffs(ctx)
	if err != nil {
		return // the leader's problem to report; compared again next tick
	}
	now := strings.Join(diffStrings(diffs), "; ")
	if now != s.differs && now != "" {
		s.W.Log.Warn("config_differs_from_leader", "differences", diffStrings(diffs),
			"hint", "the leading scheduler's configuration is in force; this one applies if it takes over")
	}
	s.differs = now
}

func (s *Scheduler) diffs(ctx context.Context) ([]store.FeedDiff, error) {
	table, err := s.W.DB.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	return store.DiffFeeds(s.Feeds, table), nil
}

func diffStrings(diffs []store.FeedDiff) []string {
	out := make([]string, len(diffs))
	for i, d := range diffs {
		out[i] = d.String()
	}
	return out
}

const releaseLock = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

func (s *Scheduler) enqueueDuePolls(ctx context.Context) {
	due, err := s.W.DB.DueFeeds(ctx, s.W.now())
	if err != nil {
		if ctx.Err() == nil { // not merely shutting down
			s.W.Log.Warn("due_feeds_failed", "error", err)
		}
		return
	}
	for _, f := range due {
		if err := s.W.enqueuePoll(ctx, f); err != nil {
			s.W.Log.Warn("enqueue_poll_failed", "feed", f.Name, "error", err)
		}
	}
}

// enqueuePoll enqueues the poll of a due feed. Its task ID names the due
// time, so a poll already waiting or running is not doubled (ensure leaves
// a running one alone: since is now). A poll that died is archived by asynq
// under that same ID (polls are not retried: the scheduler makes the next
// one), and the feed stays due at that time: ensure deletes such a task and
// makes the poll again, or the feed would not be polled for as long as
// asynq keeps what it archived.
func (w *Worker) enqueuePoll(ctx context.Context, f store.Feed) error {
	_, err := w.ensure(ctx, pollTaskID(w.Instance, f.ID, f.NextPollAt), QueueControl, w.now(),
		func(string) *asynq.Task { return NewFeedPollTask(w.Instance, f.ID, f.NextPollAt) })
	return err
}
