// Command fanout is what `make bench` runs (through bench/run.sh): one blog
// post fanned out by practicemail to N subscribers through a local SMTP sink,
// beside a raw baseline in the same run — the same messages, pre-built,
// written over the same number of persistent connections by a minimal SMTP
// client, with no rendering and no database.
//
// For each N it reports messages per second of both, their ratio,
// practicemail's CPU time per message and its peak resident set size, and
// writes the table to bench-results/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options is the command line.
type options struct {
	bin      string // the practicemail binary
	smtpAddr string // the sink, host:port
	sinkLog  string // smtp-sink -c output, for its message counter; may be empty
	sinkPID  int    // smtp-sink's process, for its CPU time; 0 if unknown
	redisURL string // a Redis database of the bench's own; flushed before each run
	outDir   string
	sizes    []int
	conns    int
	workers  int      // practicemail's worker.concurrency; 0 for its default
	runs     int      // measurements of each size
	keep     bool     // keep each run's directory (config, database, log)
	syncs    []string // SQLite synchronous settings (or "postgres", pg.go) to measure, each between the same two baselines
	pgURL    string   // the PostgreSQL server for the "postgres" runs; each makes and drops a database of its own
	campaign bool     // also measure a campaign to each N, between the same baselines
	scaleout bool     // run the scale-out bench (scaleout.go) instead
	scale    scaleOptions

	subscribeN     int           // subscribers of the fan-out that sign-ups run beside; 0: no sign-up bench
	subscribeRate  float64       // sign-ups per second beside the fan-out (and alone, to compare)
	subscribeRuns  int           // fan-outs with sign-ups, each between two alone
	subscribeConns int           // clients of the closed loop that finds the most sign-ups per second
	subscribeFor   time.Duration // how long each stretch of sign-ups alone lasts

	inq inquiryOptions // the inquiry section (inquiries.go)
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	var o options
	var sizes, syncs string
	fs.StringVar(&o.bin, "bin", "bin/practicemail", "the practicemail binary")
	fs.StringVar(&o.smtpAddr, "smtp", "127.0.0.1:2525", "the SMTP sink, host:port")
	fs.StringVar(&o.sinkLog, "sink-log", "", "smtp-sink -c output file, to cross-check its message count")
	fs.IntVar(&o.sinkPID, "sink-pid", 0, "smtp-sink's process ID, to report its CPU time")
	fs.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/12", "Redis database for the bench (flushed)")
	fs.StringVar(&o.outDir, "out", "bench-results", "where the table is saved")
	fs.StringVar(&sizes, "sizes", "10000,100000", "subscriber counts, comma-separated")
	fs.IntVar(&o.conns, "conns", 4, "SMTP connections, for both practicemail and the baseline")
	fs.IntVar(&o.workers, "concurrency", 0, "practicemail's worker.concurrency (0: its default)")
	fs.IntVar(&o.runs, "runs", 1, "how many times to measure each size")
	fs.BoolVar(&o.keep, "keep", false, "keep each run's directory")
	fs.StringVar(&syncs, "sqlite-sync", "full", "database variants to measure side by side: SQLite's synchronous full or normal, or postgres (on -pg), e.g. full,postgres")
	fs.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server for the postgres variant (a database there to run CREATE DATABASE from)")
	fs.BoolVar(&o.campaign, "campaign", false, "also send a campaign (topic:news) to each N, measured like the post between the same baselines")
	fs.IntVar(&o.subscribeN, "subscribe", 0, "also measure POST /subscribe alone and beside a fan-out to this many subscribers (0: not)")
	fs.Float64Var(&o.subscribeRate, "subscribe-rate", 100, "sign-ups per second beside the fan-out")
	fs.IntVar(&o.subscribeRuns, "subscribe-runs", 5, "fan-outs with sign-ups, each between two fan-outs alone; the median share kept is reported")
	fs.IntVar(&o.subscribeConns, "subscribe-conns", 8, "clients sending sign-ups back to back, for the most per second")
	fs.DurationVar(&o.subscribeFor, "subscribe-for", 10*time.Second, "how long each stretch of sign-ups alone lasts")
	o.inq.register(fs)
	fs.BoolVar(&o.scaleout, "scaleout", false, "run the scale-out bench instead: 1, 2 and 4 worker processes on PostgreSQL (-pg) into a delaying sink")
	fs.IntVar(&o.scale.n, "scale-n", 4000, "scale-out: subscribers")
	fs.DurationVar(&o.scale.delay, "scale-delay", 30*time.Millisecond, "scale-out: the sink's delay before answering each message")
	fs.IntVar(&o.scale.batch, "scale-batch", 50, "scale-out: worker.batch_size")
	fs.IntVar(&o.scale.rate, "scale-rate", 1000, "scale-out: smtp.rate (per second) of the scaling runs")
	fs.IntVar(&o.scale.capRate, "scale-cap-rate", 200, "scale-out: smtp.rate (per second) of a last run with the most workers, to see it hold; 0 skips it")
	fs.IntVar(&o.scale.capN, "scale-cap-n", 2000, "scale-out: subscribers of that run")
	fs.IntVar(&o.scale.procConns, "scale-conns", 4, "scale-out: smtp.connections of each worker")
	o.scale.workers = []int{1, 2, 4}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if err := o.inq.check(); err != nil {
		return o, err
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-sizes: %q is not a positive number", s)
		}
		o.sizes = append(o.sizes, n)
	}
	for _, s := range strings.Split(syncs, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "full" && s != "normal" && s != onPostgres {
			return o, fmt.Errorf("-sqlite-sync: %q is not full, normal or postgres", s)
		}
		o.syncs = append(o.syncs, s)
	}
	if o.runs < 1 {
		return o, errors.New("-runs: want at least 1")
	}
	if o.subscribeN < 0 || o.subscribeRate <= 0 || o.subscribeRuns < 1 || o.subscribeConns < 1 || o.subscribeFor < time.Second {
		return o, errors.New("-subscribe: want N >= 0, a positive -subscribe-rate, -subscribe-runs >= 1, -subscribe-conns >= 1 and -subscribe-for >= 1s")
	}
	if o.conns < 1 || o.conns > 64 {
		return o, errors.New("-conns: want 1 to 64")
	}
	return o, nil
}

// run measures every size, raw first, and reports.
func run(ctx context.Context, o options) error {
	if o.scaleout {
		return runScaleout(ctx, o, o.scale)
	}
	m, err := machineInfo(o)
	if err != nil {
		return err
	}
	msgs, err := buildRawMessages(rawRing)
	if err != nil {
		return err
	}
	var results []result
	var signups *signupResult
	if o.subscribeN > 0 {
		r, err := measureSignups(ctx, o)
		if err != nil {
			return err
		}
		signups = &r
	}
	inquiries, err := measureInquiries(ctx, o)
	if err != nil {
		return err
	}
	for _, n := range o.sizes {
		for run := 1; run <= o.runs; run++ {
			rs, err := measureSize(ctx, o, n, msgs)
			if err != nil {
				return err
			}
			for _, r := range rs {
				if o.runs > 1 {
					r.run = run
				}
				if len(o.syncs) > 1 {
					r.sync = r.pm.sync
				}
				results = append(results, r)
			}
		}
	}
	return report(o, m, msgs, results, signups, inquiries)
}

// measureSize runs the baseline, then practicemail once per SQLite
// synchronous setting, then the baseline again, for n subscribers. On a
// shared machine the load changes from minute to minute: a baseline on each
// side of the runs it is compared with is fairer than one before them.
func measureSize(ctx context.Context, o options, n int, msgs [][]byte) ([]result, error) {
	fmt.Fprintf(os.Stderr, "== N=%d: raw baseline over %d connections\n", n, o.conns)
	before, err := runRaw(ctx, o, n, msgs)
	if err != nil {
		return nil, fmt.Errorf("raw baseline, N=%d: %w", n, err)
	}
	fmt.Fprintf(os.Stderr, "   %.0f msg/s\n", before.rate(n))
	var pms []pmResult
	for _, sync := range o.syncs {
		fmt.Fprintf(os.Stderr, "== N=%d: practicemail, %s\n", n, engineLabel(sync))
		pm, err := runPracticemail(ctx, o, n, sync)
		if err != nil {
			return nil, fmt.Errorf("practicemail, N=%d: %w", n, err)
		}
		fmt.Fprintf(os.Stderr, "   %.0f msg/s, peak RSS %.1f MB\n", pm.rate(n), mb(pm.maxRSS))
		pms = append(pms, pm)
	}
	var campaign *pmResult
	if o.campaign {
		fmt.Fprintf(os.Stderr, "== N=%d: practicemail, a campaign, %s\n", n, engineLabel(o.syncs[0]))
		pm, err := runCampaign(ctx, o, n, o.syncs[0])
		if err != nil {
			return nil, fmt.Errorf("practicemail campaign, N=%d: %w", n, err)
		}
		fmt.Fprintf(os.Stderr, "   %.0f msg/s, peak RSS %.1f MB\n", pm.rate(n), mb(pm.maxRSS))
		campaign = &pm
	}
	fmt.Fprintf(os.Stderr, "== N=%d: raw baseline again\n", n)
	after, err := runRaw(ctx, o, n, msgs)
	if err != nil {
		return nil, fmt.Errorf("raw baseline, N=%d: %w", n, err)
	}
	fmt.Fprintf(os.Stderr, "   %.0f msg/s\n", after.rate(n))
	out := make([]result, len(pms))
	for i, pm := range pms {
		out[i] = result{n: n, raw: before.merge(after), rawBefore: before, rawAfter: after, pm: pm}
	}
	if campaign != nil {
		out = append(out, result{n: n, raw: before.merge(after), rawBefore: before, rawAfter: after, pm: *campaign, campaign: true})
	}
	return out, nil
}

// engineLabel names a database variant of -sqlite-sync for the progress
// lines: PostgreSQL, or SQLite with its synchronous setting.
func engineLabel(sync string) string {
	if sync == "postgres" {
		return "PostgreSQL"
	}
	return "SQLite synchronous=" + sync
}
