package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// signupResult is the sign-up measurements: POST /subscribe on its own,
// and beside a fan-out to n subscribers, with that fan-out alone on each
// side of it.
type signupResult struct {
	n       int
	closed  loadResult // as many as conns clients can send, no fan-out
	open    loadResult // at o.signupRate, no fan-out
	during  loadResult // at o.signupRate, requests due while the fan-out ran
	before  pmResult   // the fan-out alone, just before
	with    pmResult   // the fan-out with the sign-ups
	after   pmResult   // the fan-out alone, just after
	drained time.Duration
}

// aloneRate is the fan-out's msg/s alone: n over the mean of the two
// runs' times.
func (r signupResult) aloneRate() float64 {
	return float64(r.n) / ((r.before.elapsed + r.after.elapsed).Seconds() / 2)
}

// measureSignups runs the four sessions of the sign-up bench.
func measureSignups(ctx context.Context, o options) (signupResult, error) {
	r := signupResult{n: o.subscribeN}
	sync := o.syncs[0]
	fmt.Fprintf(os.Stderr, "== sign-ups: POST /subscribe alone (N=%d subscribers in the database)\n", r.n)
	if _, err := runSession(ctx, o, r.n, sync, func(s *session) driver {
		return func(ctx context.Context, _ *pmResult, _ int, exited <-chan struct{}) error {
			return s.signupsAlone(ctx, exited, &r)
		}
	}); err != nil {
		return r, fmt.Errorf("sign-ups alone: %w", err)
	}
	fmt.Fprintf(os.Stderr, "   closed loop %.0f/s p99 %s; open loop %.0f/s p99 %s\n", r.closed.rate(), ms(r.closed.pct(99)), r.open.rate(), ms(r.open.pct(99)))
	var err error
	fmt.Fprintf(os.Stderr, "== sign-ups: fan-out to %d alone\n", r.n)
	if r.before, err = runPracticemail(ctx, o, r.n, sync); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "   %.0f msg/s\n== sign-ups: fan-out to %d with %.0f sign-ups/s\n", r.before.rate(r.n), r.n, o.subscribeRate)
	var samples []sample
	r.with, err = runSession(ctx, o, r.n, sync, func(s *session) driver {
		sg := newSignups(s.httpAddr, "during-", 64)
		s.during = func(ctx context.Context) []sample { samples = sg.openLoop(ctx, o.subscribeRate); return samples }
		return s.drive
	})
	if err != nil {
		return r, fmt.Errorf("fan-out with sign-ups: %w", err)
	}
	r.during = window(samples, r.with.first, r.with.last)
	fmt.Fprintf(os.Stderr, "   %.0f msg/s; sign-ups %.0f/s p99 %s\n== sign-ups: fan-out to %d alone again\n",
		r.with.rate(r.n), r.during.rate(), ms(r.during.pct(99)), r.n)
	if r.after, err = runPracticemail(ctx, o, r.n, sync); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "   %.0f msg/s\n", r.after.rate(r.n))
	return r, nil
}

// signupsAlone waits for the child's first poll, then measures sign-ups
// as fast as o.subscribeConns clients can send them, waits until their
// confirmations are sent, then measures them at o.subscribeRate.
func (s *session) signupsAlone(ctx context.Context, exited <-chan struct{}, r *signupResult) error {
	l, err := s.openLedger()
	if err != nil {
		return err
	}
	defer l.Close()
	if err := waitFor(ctx, exited, 60*time.Second, "the first poll", l.baselined); err != nil {
		return err
	}
	o := s.o
	load, cancel := context.WithTimeout(ctx, o.subscribeFor)
	r.closed = newSignups(s.httpAddr, "closed-", o.subscribeConns).closedLoop(load, o.subscribeConns)
	cancel()
	t0 := time.Now()
	if err := waitFor(ctx, exited, 5*time.Minute, "the confirmations sent", l.drained); err != nil {
		return err
	}
	r.drained = time.Since(t0)
	load, cancel = context.WithTimeout(ctx, o.subscribeFor)
	defer cancel()
	start := time.Now()
	samples := newSignups(s.httpAddr, "open-", 64).openLoop(load, o.subscribeRate)
	r.open = window(samples, start, start.Add(o.subscribeFor))
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// The targets for sign-ups beside a fan-out.
const (
	targetSignupP99  = 50 * time.Millisecond
	targetFanoutKept = 0.90 // of the fan-out's msg/s alone
)

// signupReport is the sign-up table and its verdict.
func signupReport(o options, r signupResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## POST /subscribe, alone and beside a fan-out to %d\n\n", r.n)
	b.WriteString("JSON sign-ups over loopback, each a new address from a client address of its own (X-Forwarded-For from a trusted proxy),\n")
	b.WriteString("so each is stored, counted by the Redis rate limits and sends its confirmation email, and none is refused.\n\n")
	b.WriteString("| load | sign-ups/s | p50 | p99 | max | not 2xx | fan-out msg/s |\n|---|---:|---:|---:|---:|---|---:|\n")
	row := func(name string, l loadResult, fan string) {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s | %s |\n", name, l.rate(), ms(l.pct(50)), ms(l.pct(99)), ms(l.pct(100)), l.others(), fan)
	}
	row(fmt.Sprintf("alone, %d clients back to back, %s", o.subscribeConns, o.subscribeFor), r.closed, "—")
	row(fmt.Sprintf("alone, %.0f/s, %s", o.subscribeRate, o.subscribeFor), r.open, "—")
	row(fmt.Sprintf("%.0f/s during the fan-out (%d requests)", o.subscribeRate, r.during.total()), r.during, fmt.Sprintf("%.0f", r.with.rate(r.n)))
	fmt.Fprintf(&b, "| fan-out alone, before / after | | | | | | %.0f / %.0f |\n", r.before.rate(r.n), r.after.rate(r.n))
	fmt.Fprintf(&b, "\nOther load on the machine during each fan-out, in cores (before / with sign-ups / after): %s / %s / %s (the sign-up client runs in the bench process, which is not counted as other load).\n",
		cores(r.before.use.otherCores()), cores(r.with.use.otherCores()), cores(r.after.use.otherCores()))
	kept := r.with.rate(r.n) / r.aloneRate()
	p99, fan := "met", "met"
	if r.during.pct(99) >= targetSignupP99 || len(r.during.lat) == 0 {
		p99 = "NOT met"
	}
	if kept < targetFanoutKept {
		fan = "NOT met"
	}
	fmt.Fprintf(&b, "\nTargets: sign-up p99 under %s during the fan-out: %s (%s); the fan-out within 10%% of its rate alone: %s (%.0f%% of %.0f msg/s, the mean of before and after).\n",
		ms(targetSignupP99), ms(r.during.pct(99)), p99, fan, 100*kept, r.aloneRate())
	fmt.Fprintf(&b, "The closed loop's confirmations took %.1f s more to send after it stopped. Latency counts from when a request was due (open loop) or sent (closed).\n", r.drained.Seconds())
	return b.String()
}
