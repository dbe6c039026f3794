package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The scale-out bench: one post fanned out by 1, 2 and 4 `practicemail
// worker` processes (and one `practicemail scheduler`) on one PostgreSQL
// database and one Redis, into a sink that answers each message after a
// delay, as a relay some way off does. With a slow server a worker's rate
// is its connections over the delay; more workers should send more, until
// smtp.rate, which all of them share, and which must hold at the sink in
// every second.

// scaleOptions are the scale-out bench's settings.
type scaleOptions struct {
	n         int           // subscribers
	delay     time.Duration // the sink's answer to each final dot
	workers   []int         // worker processes, one run each
	batch     int           // worker.batch_size
	rate      int           // smtp.rate, messages a second, for the scaling runs: above what the workers can reach
	capRate   int           // smtp.rate of a last run with the most workers, low enough to bind; 0: none
	capN      int           // subscribers of that run
	procConns int           // smtp.connections (and worker.concurrency) of each worker
}

// scaleRun is one run's result.
type scaleRun struct {
	workers, rate, n int
	sent             int
	span             time.Duration
	peak             int // most messages the sink took in one whole second
}

func (r scaleRun) msgs() float64 { return float64(r.sent) / r.span.Seconds() }

// runScaleout runs the scale-out bench and prints its table.
func runScaleout(ctx context.Context, o options, so scaleOptions) error {
	sink, err := startDelaySink(so.delay)
	if err != nil {
		return err
	}
	defer sink.Close()
	var runs []scaleRun
	plan := make([][3]int, 0, len(so.workers)+1) // workers, rate, n
	for _, k := range so.workers {
		plan = append(plan, [3]int{k, so.rate, so.n})
	}
	if so.capRate > 0 {
		plan = append(plan, [3]int{so.workers[len(so.workers)-1], so.capRate, so.capN})
	}
	for _, p := range plan {
		fmt.Fprintf(os.Stderr, "== scale-out: %d worker(s), smtp.rate %d/s, %d subscribers, %s a message at the sink\n", p[0], p[1], p[2], so.delay)
		r, err := scaleOnce(ctx, o, so, sink, p[0], p[1], p[2])
		if err != nil {
			return fmt.Errorf("scale-out, %d workers: %w", p[0], err)
		}
		fmt.Fprintf(os.Stderr, "   %.0f msg/s, at most %d in one second\n", r.msgs(), r.peak)
		runs = append(runs, r)
	}
	report := scaleReport(so, runs)
	fmt.Print(report)
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(o.outDir, "scaleout-"+time.Now().UTC().Format("20060102-150405")+".md")
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "saved %s\n", path)
	return nil
}

// scaleOnce runs one scheduler and k workers on a fresh database until the
// post has gone to all n subscribers.
func scaleOnce(ctx context.Context, o options, so scaleOptions, sink *delaySink, k, rate, n int) (scaleRun, error) {
	r := scaleRun{workers: k, rate: rate, n: n}
	dir, err := os.MkdirTemp("", "practicemail-scaleout-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	pg, err := createPG(ctx, o.pgURL)
	if err != nil {
		return r, err
	}
	defer pg.drop()
	blog := newBlog()
	defer blog.Close()
	httpAddr, err := freeAddr()
	if err != nil {
		return r, err
	}
	config := filepath.Join(dir, "practicemail.yaml")
	co := o
	// One task more than connections: the fan-out task, writing the ledger
	// page by page, would otherwise hold one sender's place in the first
	// worker to take it.
	co.smtpAddr, co.conns, co.workers, co.subscribeN = sink.Addr(), so.procConns, so.procConns+1, 0
	if err := writeConfig(config, pg.url, httpAddr, co, blog.FeedURL()); err != nil {
		return r, err
	}
	if err := scaleConfig(config, rate, so.batch); err != nil {
		return r, err
	}
	if out, err := command(ctx, o.bin, dir, "migrate", "--config", config).CombinedOutput(); err != nil {
		return r, fmt.Errorf("practicemail migrate: %w\n%s", err, out)
	}
	if _, err := seedPG(ctx, pg.url, n); err != nil {
		return r, err
	}
	if _, err := flushRedis(ctx, o.redisURL); err != nil {
		return r, err
	}
	sink.reset()
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			done := make(chan struct{})
			go func() { _ = p.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = p.Process.Kill()
				<-done
			}
		}
	}()
	roles := []string{"scheduler"}
	for range k {
		roles = append(roles, "worker")
	}
	exited := make(chan struct{})
	for i, role := range roles {
		cmd := command(context.WithoutCancel(ctx), o.bin, dir, role, "--config", config)
		log, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.log", role, i)))
		if err != nil {
			return r, err
		}
		defer log.Close()
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return r, fmt.Errorf("start practicemail %s: %w", role, err)
		}
		procs = append(procs, cmd)
	}
	l, err := openLedgerPG(withApp(pg.url))
	if err != nil {
		return r, err
	}
	defer l.Close()
	if err := waitFor(ctx, exited, 60*time.Second, "the first poll", l.baselined); err != nil {
		return r, err
	}
	blog.publish()
	limit := 60*time.Second + time.Duration(n)*20*time.Millisecond
	if err := waitFor(ctx, exited, limit, "every message sent", l.finished); err != nil {
		return r, fmt.Errorf("%w\n%s", err, scaleLogs(dir))
	}
	r.sent, r.span, r.peak = sink.stats()
	if r.sent != n {
		return r, fmt.Errorf("the sink took %d messages, want %d", r.sent, n)
	}
	return r, nil
}

// scaleConfig sets smtp.rate and worker.batch_size in the configuration
// writeConfig wrote.
func scaleConfig(path string, rate, batch int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := strings.Replace(string(b), "rate: unlimited", fmt.Sprintf("rate: %d/s", rate), 1)
	s = strings.Replace(s, "worker:\n", fmt.Sprintf("worker:\n  batch_size: %d\n", batch), 1)
	return os.WriteFile(path, []byte(s), 0o600)
}

// scaleLogs is the end of each process's log, for a run that failed.
func scaleLogs(dir string) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var b strings.Builder
	for _, p := range logs {
		fmt.Fprintf(&b, "%s:\n%s\n", filepath.Base(p), tail(p, 8))
	}
	return b.String()
}

// scaleReport is the scale-out table and its verdict.
func scaleReport(so scaleOptions, runs []scaleRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n# Scale-out: worker processes on one PostgreSQL and one Redis, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Sink answers each message after %s; each worker has smtp.connections %d (and worker.concurrency %d); worker.batch_size %d; one scheduler beside.\n\n",
		so.delay, so.procConns, so.procConns+1, so.batch)
	b.WriteString("| workers | smtp.rate /s | subscribers | msg/s at the sink | × one worker | most in one second | rate held (≤ 5% over) |\n|---:|---:|---:|---:|---:|---:|---|\n")
	var one float64
	for _, r := range runs {
		if r.workers == 1 && one == 0 {
			one = r.msgs()
		}
		x := "?"
		if one > 0 {
			x = fmt.Sprintf("%.2f", r.msgs()/one)
		}
		held := "yes"
		if float64(r.peak) > 1.05*float64(r.rate) {
			held = "NO"
		}
		fmt.Fprintf(&b, "| %d | %d | %d | %.0f | %s | %d | %s |\n", r.workers, r.rate, r.n, r.msgs(), x, r.peak, held)
	}
	b.WriteString("\nTargets: 2 workers at least 1.8× one, 4 at least 3.2× one; smtp.rate never exceeded by more than 5% in any whole second.\n")
	for _, r := range runs {
		if one == 0 || r.rate != so.rate {
			continue
		}
		want := map[int]float64{2: 1.8, 4: 3.2}[r.workers]
		if want == 0 {
			continue
		}
		verdict := "met"
		if r.msgs()/one < want {
			verdict = "NOT met"
		}
		fmt.Fprintf(&b, "- %d workers: %.2f× one (%s)\n", r.workers, r.msgs()/one, verdict)
	}
	return b.String()
}
