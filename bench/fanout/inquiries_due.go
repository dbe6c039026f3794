package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// dueResult is one run of N enrollments whose next step falls due at one
// instant.
type dueResult struct {
	n, rate int
	seed    time.Duration // writing the enrollments; not measured
	due     time.Time     // when every step fell due
	ready   time.Duration // how long before due the child had started (negative: after)
	open    int           // steps scheduled and not yet run when it had
	ticks   []tick        // the sink's counter, sampled from the child's start to the last send
	sink    int64         // messages the sink took from the child's start to the last send
	ledger  stepCounts
	use     usage                       // CPU time from due to the last send
	doneRSS int64                       // bytes, the child's peak until the last send
	redis   struct{ ready, peak int64 } // used_memory once the child had started (its tasks enqueued), and at most
	pm      pmResult
}

// span is from the instant the steps fell due to the last one sent.
func (r dueResult) span() time.Duration { return r.ledger.last.Sub(r.due) }

// seconds is the sink's count in each whole second from due.
func (r dueResult) seconds() []int64 { return perSecond(r.ticks, r.due) }

// busiestCalendar is the most the sink took in one whole second from due.
func (r dueResult) busiestCalendar() int64 {
	var most int64
	for _, n := range r.seconds() {
		most = max(most, n)
	}
	return most
}

// once reports whether every step went exactly once: a sent ledger row
// each, for as many steps and addresses, the sink counting as many, and
// nothing else sent.
func (r dueResult) once() bool {
	c := r.ledger
	return c.rows == r.n && c.sent == r.n && c.sources == r.n && c.recipients == r.n && c.others == 0 && r.sink == int64(r.n)
}

// measureDue seeds N enrollments whose step 1 falls due at one instant,
// runs practicemail, and watches the sink until every step is sent.
func measureDue(ctx context.Context, o options) (dueResult, error) {
	r := dueResult{n: o.inq.due, rate: o.inq.rate}
	pm, err := runSession(ctx, o, 0, o.syncs[0], func(s *session) driver {
		s.env, s.name = inquiryEnv(o.inq), "due"
		s.prepare = func(ctx context.Context) error {
			t0 := time.Now()
			r.due = wholeSecond(t0.Add(o.inq.lead))
			_, err := seedDueSteps(ctx, s.dbPath, r.n, r.due)
			r.seed = time.Since(t0)
			fmt.Fprintf(os.Stderr, "   seeded %d enrollments in %s, due at %s\n", r.n, r.seed.Round(time.Millisecond), r.due.Format(time.TimeOnly))
			return err
		}
		return func(ctx context.Context, _ *pmResult, pid int, exited <-chan struct{}) error {
			return s.dueSteps(ctx, pid, exited, &r)
		}
	})
	r.pm = pm
	return r, err
}

// wholeSecond rounds t up to a whole second, as asynq keeps times.
func wholeSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// dueSteps samples the sink and Redis's memory from the child's start
// (before it can send anything), waits for its first poll, then for every
// step to be sent after it fell due.
func (s *session) dueSteps(ctx context.Context, pid int, exited <-chan struct{}, r *dueResult) error {
	tail, err := openSinkTail(s.o.sinkLog)
	if err != nil {
		return fmt.Errorf("smtp-sink's counter (-sink-log): %w", err)
	}
	defer tail.Close()
	sampling, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	sink := sampleSink(sampling, tail, 10*time.Millisecond)
	mem, err := sampleRedisMemory(sampling, s.o.redisURL, 250*time.Millisecond)
	if err != nil {
		return err
	}
	l, err := s.ready(ctx, exited, 60*time.Second+time.Duration(r.n)*time.Millisecond) // its reconcile at start enqueues the steps
	if err != nil {
		return err
	}
	defer l.Close()
	r.ready = time.Until(r.due)
	r.redis.ready = mem.last()
	if err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM enrollment_steps WHERE done_at IS NULL`).Scan(&r.open); err != nil {
		return fmt.Errorf("read the open steps: %w", err)
	}
	select {
	case <-time.After(time.Until(r.due)):
	case <-exited:
		return errors.New("practicemail run exited before the steps fell due")
	case <-ctx.Done():
		return ctx.Err()
	}
	who := pids{child: pid, sink: s.o.sinkPID, redis: s.redisPID}
	cpu0 := sampleCPU(who)
	limit := 2*time.Minute + time.Duration(2*r.n/r.rate)*time.Second
	if err := waitFor(ctx, exited, limit, "every step sent", l.stepsSent(r.n)); err != nil {
		return err
	}
	r.use = cpu0.until(sampleCPU(who))
	if r.doneRSS, err = procHWM(pid); err != nil {
		return err
	}
	if r.ledger, err = l.steps(ctx); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond) // the sink counts at the dot, before the reply: a last look
	stopSampling()
	r.redis.peak = mem.wait()
	if r.ticks, err = sink.result(); err != nil {
		return err
	}
	r.sink = r.ticks[len(r.ticks)-1].n - r.ticks[0].n
	return nil
}

// stepCounts is what the ledger holds of the sequence steps.
type stepCounts struct {
	rows, sent          int // ledger rows of steps, and of them sent
	sources, recipients int // distinct steps and addresses among them
	others              int // ledger rows of any other kind
	first, last         time.Time
}

// stepsSent is a condition for waitFor: n ledger rows of steps, none left
// to send.
func (l *ledger) stepsSent(n int) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		var rows, open int
		err := l.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(state IN ('queued', 'sending')), 0)
			FROM deliveries WHERE kind = ?`, store.KindStep).Scan(&rows, &open)
		return rows >= n && open == 0, err
	}
}

// steps counts the steps' ledger rows.
func (l *ledger) steps(ctx context.Context) (stepCounts, error) {
	var c stepCounts
	var first, last int64
	err := l.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(state = 'sent'), 0),
		COUNT(DISTINCT source_id), COUNT(DISTINCT recipient), COALESCE(MIN(sent_at), 0), COALESCE(MAX(sent_at), 0),
		(SELECT COUNT(*) FROM deliveries WHERE kind <> ?) FROM deliveries WHERE kind = ?`, store.KindStep, store.KindStep).Scan(
		&c.rows, &c.sent, &c.sources, &c.recipients, &first, &last, &c.others)
	if err != nil {
		return c, fmt.Errorf("read the ledger: %w", err)
	}
	c.first, c.last = time.UnixMilli(first), time.UnixMilli(last)
	return c, nil
}

// inquiriesDone is a condition for waitFor: every inquiry processed, every
// step due by now run, and no email left to send.
func (l *ledger) inquiriesDone(ctx context.Context) (bool, error) {
	var waiting int
	err := l.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM inquiries WHERE processed_at IS NULL) +
		(SELECT COUNT(*) FROM enrollment_steps WHERE done_at IS NULL AND due_at <= ?) +
		(SELECT COUNT(*) FROM deliveries WHERE state IN ('queued', 'sending'))`, time.Now().UnixMilli()).Scan(&waiting)
	return waiting == 0, err
}
