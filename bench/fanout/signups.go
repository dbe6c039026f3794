package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// signupResult is the sign-up measurements: POST /subscribe on its own,
// and beside a fan-out to n subscribers, run o.subscribeRuns times, each
// time between two runs of that fan-out alone.
type signupResult struct {
	n           int
	aloneResult            // no fan-out: as many as conns clients can send, then at o.signupRate
	during      loadResult // at o.signupRate, the requests due while the fan-outs ran, of every run
	alone       []pmResult // the fan-out alone: before the first run with sign-ups and after each
	with        []pmResult // the fan-out with the sign-ups: with[i] ran between alone[i] and alone[i+1]
}

// kept is run i's rate with the sign-ups over the fan-out's rate alone:
// n over the mean of the times of the runs alone on either side of it.
func (r signupResult) kept(i int) float64 {
	alone := float64(r.n) / ((r.alone[i].elapsed + r.alone[i+1].elapsed).Seconds() / 2)
	return r.with[i].rate(r.n) / alone
}

// medianKept is the median of the runs' kept shares: the machine is
// shared, and one fan-out alone has been seen 12% faster than the next.
func (r signupResult) medianKept() float64 {
	k := make([]float64, len(r.with))
	for i := range k {
		k[i] = r.kept(i)
	}
	slices.Sort(k)
	if len(k)%2 == 1 {
		return k[len(k)/2]
	}
	return (k[len(k)/2-1] + k[len(k)/2]) / 2
}

// add merges l, one run's requests, into r.
func (r *loadResult) add(l loadResult) {
	r.elapsed += l.elapsed
	if r.codes == nil {
		r.codes = map[int]int{}
	}
	for c, n := range l.codes {
		r.codes[c] += n
	}
	r.lat = append(r.lat, l.lat...)
	slices.Sort(r.lat)
}

// measureSignups runs the sessions of the sign-up bench: sign-ups alone,
// then the fan-out alone, and o.subscribeRuns times the fan-out with
// sign-ups and alone again.
func measureSignups(ctx context.Context, o options) (signupResult, error) {
	r := signupResult{n: o.subscribeN}
	sync := o.syncs[0]
	defer profileAs("alone")()
	fmt.Fprintf(os.Stderr, "== sign-ups: POST /subscribe alone (N=%d subscribers in the database)\n", r.n)
	if _, err := runSession(ctx, o, r.n, sync, func(s *session) driver {
		return func(ctx context.Context, _ *pmResult, _ int, exited <-chan struct{}) error {
			return s.signupsAlone(ctx, exited, &r)
		}
	}); err != nil {
		return r, fmt.Errorf("sign-ups alone: %w", err)
	}
	fmt.Fprintf(os.Stderr, "   closed loop %.0f/s p99 %s; open loop %.0f/s p99 %s\n", r.closed.rate(), ms(r.closed.pct(99)), r.open.rate(), ms(r.open.pct(99)))
	alone := func(label string) error {
		fmt.Fprintf(os.Stderr, "== sign-ups: fan-out to %d alone\n", r.n)
		profileAs(label)
		a, err := runPracticemail(ctx, o, r.n, sync)
		if err != nil {
			return err
		}
		r.alone = append(r.alone, a)
		fmt.Fprintf(os.Stderr, "   %.0f msg/s\n", a.rate(r.n))
		return nil
	}
	if err := alone("before"); err != nil {
		return r, err
	}
	for i := range o.subscribeRuns {
		fmt.Fprintf(os.Stderr, "== sign-ups: fan-out to %d with %.0f sign-ups/s (run %d of %d)\n", r.n, o.subscribeRate, i+1, o.subscribeRuns)
		var samples []sample
		profileAs(fmt.Sprintf("with%d", i+1))
		w, err := runSession(ctx, o, r.n, sync, func(s *session) driver {
			sg := newSignups(s.httpAddr, fmt.Sprintf("during%d-", i), 64)
			s.during = func(ctx context.Context) []sample { samples = sg.openLoop(ctx, o.subscribeRate); return samples }
			return s.drive
		})
		if err != nil {
			return r, fmt.Errorf("fan-out with sign-ups: %w", err)
		}
		r.with = append(r.with, w)
		during := window(samples, w.first, w.last)
		r.during.add(during)
		fmt.Fprintf(os.Stderr, "   %.0f msg/s; sign-ups %.0f/s p99 %s\n", w.rate(r.n), during.rate(), ms(during.pct(99)))
		if err := alone(fmt.Sprintf("after%d", i+1)); err != nil {
			return r, err
		}
	}
	return r, nil
}

// signupsAlone waits for the child's first poll, then measures sign-ups
// as fast as o.subscribeConns clients can send them, waits until their
// confirmations are sent, then measures them at o.subscribeRate.
func (s *session) signupsAlone(ctx context.Context, exited <-chan struct{}, r *signupResult) error {
	o := s.o
	var err error
	r.aloneResult, err = s.postAlone(ctx, exited, aloneLoad{poster: newSignups, conns: o.subscribeConns,
		perSecond: o.subscribeRate, stretch: o.subscribeFor, done: (*ledger).drained, what: "the confirmations sent"})
	return err
}

// profileBase is BENCH_CPUPROFILE as the bench was started with.
var profileBase = os.Getenv("BENCH_CPUPROFILE")

// profileAs names the CPU profiles of the sessions that follow after
// their part of the sign-up bench (BENCH_CPUPROFILE.with.N, …): the four
// sessions have the same N, and would otherwise overwrite each other's.
// An empty label restores the name. The returned func restores it too.
func profileAs(label string) func() {
	if profileBase != "" {
		p := profileBase
		if label != "" {
			p += "." + label
		}
		os.Setenv("BENCH_CPUPROFILE", p)
	}
	return func() { profileAs("") }
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
	b.WriteString("| load | sign-ups/s | p50 | p99 | max | not 2xx |\n|---|---:|---:|---:|---:|---|\n")
	row := func(name string, l loadResult) {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s |\n", name, l.rate(), ms(l.pct(50)), ms(l.pct(99)), ms(l.pct(100)), l.others())
	}
	row(fmt.Sprintf("alone, %d clients back to back, %s", o.subscribeConns, o.subscribeFor), r.closed)
	row(fmt.Sprintf("alone, %.0f/s, %s", o.subscribeRate, o.subscribeFor), r.open)
	row(fmt.Sprintf("%.0f/s during the fan-outs (%d runs, %d requests)", o.subscribeRate, len(r.with), r.during.total()), r.during)
	b.WriteString("\nThe fan-out, alone and with the sign-ups, run by run in the order they ran (each with-run is compared with the mean of the runs alone on either side of it):\n\n")
	b.WriteString("| run | fan-out msg/s | other load, cores | kept |\n|---|---:|---:|---:|\n")
	for i, a := range r.alone {
		fmt.Fprintf(&b, "| alone | %.0f | %s | |\n", a.rate(r.n), cores(a.use.otherCores()))
		if i < len(r.with) {
			fmt.Fprintf(&b, "| with %.0f sign-ups/s | %.0f | %s | %.0f%% |\n", o.subscribeRate, r.with[i].rate(r.n), cores(r.with[i].use.otherCores()), 100*r.kept(i))
		}
	}
	b.WriteString("\n(The sign-up client runs in the bench process, which is not counted as other load.)\n")
	kept := r.medianKept()
	p99, fan := "met", "met"
	if r.during.pct(99) >= targetSignupP99 || len(r.during.lat) == 0 {
		p99 = "NOT met"
	}
	if kept < targetFanoutKept {
		fan = "NOT met"
	}
	fmt.Fprintf(&b, "\nTargets: sign-up p99 under %s during the fan-out: %s (%s); the fan-out within 10%% of its rate alone: %s (median of %d runs: %.0f%%).\n",
		ms(targetSignupP99), ms(r.during.pct(99)), p99, fan, len(r.with), 100*kept)
	fmt.Fprintf(&b, "The closed loop's confirmations took %.1f s more to send after it stopped. Latency counts from when a request was due (open loop) or sent (closed).\n", r.drained.Seconds())
	return b.String()
}
