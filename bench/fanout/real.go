package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// pmResult is one run of practicemail.
type pmResult struct {
	sync     string        // SQLite's synchronous setting for the run
	seed     time.Duration // writing the subscribers; not measured
	elapsed  time.Duration // first ledger row written → last message sent
	latency  time.Duration // the feed first served the post → last message sent
	use      usage         // CPU time from just before publishing to done
	cpuTotal time.Duration // the child's CPU time over its whole life
	idleRSS  int64         // bytes, peak before the post was published
	doneRSS  int64         // bytes, peak until the last message was sent (before SIGTERM)
	maxRSS   int64         // bytes, peak over the whole life (VmHWM)
	first    time.Time     // the fan-out's first ledger row written
	last     time.Time     // its last message sent
	sink     int64         // messages the sink counted, -1 if unknown
	pgCPU    time.Duration // on PostgreSQL: its backends' CPU time over the window of use (pg.go)
	pgXacts  int64         // on PostgreSQL: transactions over that window, -1 if unknown
}

func (r pmResult) rate(n int) float64 { return float64(n) / r.elapsed.Seconds() }

// runPracticemail runs `practicemail run` as a child process on a fresh
// SQLite database with n subscribers, publishes a post once the feed has been
// baselined, and waits until the ledger has every row sent.
func runPracticemail(ctx context.Context, o options, n int, sync string) (pmResult, error) {
	return runSession(ctx, o, n, sync, func(s *session) driver { return s.drive })
}

// driver is what a session does with its started child.
type driver func(ctx context.Context, res *pmResult, pid int, exited <-chan struct{}) error

// runSession runs `practicemail run` as a child process on a fresh SQLite
// database with n subscribers, and drives it with the driver that drive
// picks for the session.
func runSession(ctx context.Context, o options, n int, sync string, drive func(*session) driver) (pmResult, error) {
	dir, err := os.MkdirTemp("", "practicemail-bench-")
	if err != nil {
		return pmResult{}, err
	}
	if o.keep {
		fmt.Fprintf(os.Stderr, "   run directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	s := &session{o: o, n: n, dir: dir, blog: newBlog(),
		config: filepath.Join(dir, "practicemail.yaml"), dbPath: filepath.Join(dir, "practicemail.db")}
	defer s.blog.Close()
	if s.httpAddr, err = freeAddr(); err != nil {
		return pmResult{}, err
	}
	s.driver = drive(s)
	dbURL := "sqlite:" + s.dbPath + "?synchronous=" + sync
	if sync == onPostgres {
		if s.pg, err = createPG(ctx, o.pgURL); err != nil {
			return pmResult{}, err
		}
		defer s.pg.drop()
		dbURL = s.pg.url
	}
	if err := writeConfig(s.config, dbURL, s.httpAddr, o, s.blog.FeedURL()); err != nil {
		return pmResult{}, err
	}
	if out, err := command(ctx, o.bin, dir, "migrate", "--config", s.config).CombinedOutput(); err != nil {
		return pmResult{}, fmt.Errorf("practicemail migrate: %w\n%s", err, out)
	}
	res := pmResult{sync: sync}
	if s.pg != nil {
		res.seed, err = seedPG(ctx, s.pg.url, n)
	} else {
		res.seed, err = seed(ctx, s.dbPath, n)
	}
	if err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "   seeded %d subscribers in %s\n", n, res.seed.Round(time.Millisecond))
	if s.prepare != nil {
		if err := s.prepare(ctx); err != nil {
			return res, err
		}
	}
	if s.redisPID, err = flushRedis(ctx, o.redisURL); err != nil {
		return res, err
	}
	return res, s.measure(ctx, &res)
}

// session is one run of practicemail: its directory, files and feed.
type session struct {
	o                   options
	n                   int
	dir, config, dbPath string
	blog                *blog
	redisPID            int
	pg                  *pgDB  // the run's PostgreSQL database, when on PostgreSQL
	httpAddr            string // where the child serves its pages, host:port
	driver              driver
	during              func(ctx context.Context) []sample // load from the post's publication until every message is sent, if any
	load                []sample                           // what during measured
	prepare             func(ctx context.Context) error    // more seeding, after the subscribers' and before the child starts, if any
	env                 []string                           // more of the child's environment (PRACTICEMAIL_* settings), if any
	name                string                             // names its CPU profile; else the number of subscribers does
}

func (s *session) label() string {
	if s.name != "" {
		return s.name
	}
	return fmt.Sprint(s.n)
}

// freeAddr is a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// signupKeys lets the bench's sign-up load in: posts from the practice's
// site, and each request's X-Forwarded-For believed of loopback, so that
// every sign-up comes from a client of its own. Only runs that measure
// sign-ups set them (older builds do not know the keys).
func signupKeys(o options) string {
	if o.subscribeN == 0 {
		return ""
	}
	return fmt.Sprintf("  allowed_origins: [%s]\n  trusted_proxies: [127.0.0.1/32]\n", signupOrigin)
}

func writeConfig(path, dbPath, httpAddr string, o options, feedURL string) error {
	yaml := fmt.Sprintf(`practice:
  name: %s
  base_url: %s
  time_zone: %s
  postal_address: %q
  from: %q
  reply_to: %s
  booking_url: %s/consult
http:
  addr: %s
%sdatabase:
  url: %s
redis:
  url: %s
smtp:
  url: smtp://%s
  tls: none
  connections: %d
  rate: unlimited
secrets:
  link_key: %s
log:
  level: info
feeds:
  - name: blog
    url: %s
    every: 1s
`, practiceName, practiceBaseURL, practiceTimeZone, practiceAddress, practiceFrom, practiceReplyTo, practiceBaseURL,
		httpAddr, signupKeys(o), dbPath, o.redisURL, o.smtpAddr, o.conns, linkKey, feedURL)
	if o.workers > 0 {
		yaml += fmt.Sprintf("worker:\n  concurrency: %d\n", o.workers)
	}
	return os.WriteFile(path, []byte(yaml), 0o600)
}

// command is the practicemail binary with args, in dir, with an environment
// free of PRACTICEMAIL_* overrides.
func command(ctx context.Context, bin, dir string, args ...string) *exec.Cmd {
	abs, err := filepath.Abs(bin)
	if err != nil {
		abs = bin
	}
	cmd := exec.CommandContext(ctx, abs, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PRACTICEMAIL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// measure starts the child, waits for the first poll, publishes the post,
// waits for every row to be sent, and stops the child.
func (s *session) measure(ctx context.Context, res *pmResult) error {
	logPath := filepath.Join(s.dir, "practicemail.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := []string{"run", "--config", s.config}
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
		args = append(args, "--cpuprofile", fmt.Sprintf("%s.%s", p, s.label()))
	}
	cmd := command(context.WithoutCancel(ctx), s.o.bin, s.dir, args...)
	cmd.Env = append(cmd.Env, s.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start practicemail run: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	err = s.driver(ctx, res, cmd.Process.Pid, exited)
	peak, stopErr := stop(cmd, exited)
	if err == nil {
		err = stopErr
	}
	if err != nil {
		return fmt.Errorf("%w (exit: %v)\nlast lines of %s:\n%s", err, waitErr, logPath, tail(logPath, 15))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("no resource usage for the child")
	}
	res.cpuTotal = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	res.maxRSS = peak
	return nil
}

// drive runs one measurement against a started child: a post.
func (s *session) drive(ctx context.Context, res *pmResult, pid int, exited <-chan struct{}) error {
	return s.driveSend(ctx, res, pid, exited, sendKind{name: "post",
		start:    func(context.Context) error { s.blog.publish(); return nil },
		finished: (*ledger).finished,
		served:   s.blog.firstServed,
	})
}

// sendKind is what a measurement sends: how it starts, how the ledger says
// it is done, and when it was first asked for (zero: not known).
type sendKind struct {
	name     string // the ledger's kind
	start    func(ctx context.Context) error
	finished func(l *ledger, ctx context.Context) (bool, error)
	served   func() time.Time
}

// driveSend waits for the first poll, starts k's send, waits until the
// ledger has it all sent, and reads the measurements.
func (s *session) driveSend(ctx context.Context, res *pmResult, pid int, exited <-chan struct{}, k sendKind) error {
	o, n := s.o, s.n
	l, err := s.openLedger()
	if err != nil {
		return err
	}
	defer l.Close()
	if err := waitFor(ctx, exited, 60*time.Second, "the first poll", l.baselined); err != nil {
		return err
	}
	sink0 := sinkCount(o.sinkLog)
	who := pids{child: pid, sink: o.sinkPID, redis: s.redisPID}
	cpu0 := sampleCPU(who)
	pgs := s.pgServer(ctx, l)
	if res.idleRSS, err = procHWM(pid); err != nil {
		return err
	}
	if err := k.start(ctx); err != nil {
		return err
	}
	stopLoad := s.startLoad(ctx)
	limit := 60*time.Second + time.Duration(n)*time.Millisecond // 1 ms a message is 1,000 msg/s
	err = waitFor(ctx, exited, limit, "every message sent", func(ctx context.Context) (bool, error) { return k.finished(l, ctx) })
	stopLoad()
	if err != nil {
		return err
	}
	if res.use = cpu0.until(sampleCPU(who)); res.use.child < 0 {
		return errors.New("cannot read the child's CPU time")
	}
	if pgs != nil {
		res.pgCPU, res.pgXacts = pgs.stop(ctx)
	}
	if res.doneRSS, err = procHWM(pid); err != nil {
		return err
	}
	res.sink = -1
	if sink0 >= 0 {
		res.sink = waitSinkCount(o.sinkLog, sink0+int64(n)) - sink0
	}
	return l.summarise(k.name, n, res, k.served())
}

// startLoad starts the session's load, if it has one, and returns what
// stops it and waits for its last answers.
func (s *session) startLoad(ctx context.Context) (stop func()) {
	if s.during == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.load = s.during(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// waitFor checks cond every 100 ms until it holds, the child exits, or limit passes.
func waitFor(ctx context.Context, exited <-chan struct{}, limit time.Duration, what string, cond func(context.Context) (bool, error)) error {
	deadline := time.Now().Add(limit)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, limit)
		}
		select {
		case <-exited:
			return fmt.Errorf("practicemail run exited while waiting for %s", what)
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// stop sends SIGTERM and waits for the child, killing it after 30 s. It
// returns the child's peak RSS, read from /proc until the child is gone: the
// rusage of the exited child will not do, because on Linux its ru_maxrss
// also counts the bench's own RSS, which the child shared until its exec.
func stop(cmd *exec.Cmd, exited <-chan struct{}) (int64, error) {
	peak, _ := procHWM(cmd.Process.Pid)
	select {
	case <-exited:
		return peak, nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case <-exited:
			return peak, nil
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			return peak, errors.New("practicemail run did not stop within 30s of SIGTERM")
		case <-t.C:
			if hwm, err := procHWM(cmd.Process.Pid); err == nil {
				peak = max(peak, hwm)
			}
		}
	}
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}
