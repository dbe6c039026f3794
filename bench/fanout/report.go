package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// result is one size's measurements.
type result struct {
	n    int
	run  int       // 1, 2, … when each size ran more than once; 0 when once
	sync string    // the SQLite synchronous setting, when more than one was measured
	raw  rawResult // the mean of the baselines before and after pm
	pm   pmResult
	// campaign: pm sent a campaign, not a post
	campaign bool

	rawBefore, rawAfter rawResult
}

// machine describes where the bench ran.
type machine struct {
	cpu, kernel, memory, goVersion, sink, revision string
	cores                                          int
}

func machineInfo(o options) (machine, error) {
	m := machine{cores: runtime.NumCPU(), goVersion: runtime.Version()}
	m.cpu = procField("/proc/cpuinfo", "model name")
	m.memory = procField("/proc/meminfo", "MemTotal")
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	m.sink = output("dpkg-query", "-W", "-f", "postfix ${Version}", "postfix")
	m.revision = output("git", "describe", "--tags", "--always", "--dirty")
	if _, err := os.Stat(o.bin); err != nil {
		return m, fmt.Errorf("practicemail binary: %w", err)
	}
	return m, nil
}

// procField is the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "unknown"
}

func output(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

func perMsg(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }

// report prints the tables and saves them under o.outDir.
func report(o options, m machine, msgs [][]byte, results []result, signups *signupResult, inquiries *inquiryResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# practicemail fan-out benchmark, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %d cores, %s, %s RAM, Linux %s, %s; sink: smtp-sink (%s); practicemail %s; %d SMTP connections; SQLite synchronous=%s.\n\n",
		m.cores, m.cpu, m.memory, m.kernel, m.goVersion, m.sink, m.revision, o.conns, strings.Join(o.syncs, " and "))
	b.WriteString("| N | raw msg/s | practicemail msg/s | ratio | CPU µs/msg | peak RSS MB |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f%% | %.0f | %.1f |\n", r.label(), r.raw.rate(r.n), r.pm.rate(r.n),
			100*r.pm.rate(r.n)/r.raw.rate(r.n), perMsg(r.pm.use.child, r.n), mb(r.pm.maxRSS))
	}
	b.WriteString("\nCPU µs per message, by process:\n\n")
	b.WriteString("| N | raw: client | raw: smtp-sink | practicemail | with it: Redis | with it: smtp-sink |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.label(), perMsgOf(r.raw.use.self, r.n),
			perMsgOf(r.raw.use.sink, r.n), perMsgOf(r.pm.use.child, r.n), perMsgOf(r.pm.use.redis, r.n), perMsgOf(r.pm.use.sink, r.n))
	}
	b.WriteString("\n| N | raw msg/s: before / after | other load, cores: raw / practicemail | peak RSS MB: before the post / all sent / whole life |")
	b.WriteString(" publish → last sent s | whole-life CPU s | seeding s | sink counted: raw / practicemail |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %.0f / %.0f | %s / %s | %.1f / %.1f / %.1f | %.2f | %.2f | %.2f | %s / %s |\n", r.label(),
			r.rawBefore.rate(r.n), r.rawAfter.rate(r.n), cores(r.raw.use.otherCores()), cores(r.pm.use.otherCores()), mb(r.pm.idleRSS), mb(r.pm.doneRSS), mb(r.pm.maxRSS),
			r.pm.latency.Seconds(), r.pm.cpuTotal.Seconds(), r.pm.seed.Seconds(), count(r.raw.sink), count(r.pm.sink))
	}
	b.WriteString(pgReport(results))
	b.WriteString(verdict(results))
	if signups != nil {
		b.WriteString(signupReport(o, *signups))
	}
	if inquiries != nil {
		b.WriteString(inquiryReport(o, *inquiries))
	}
	fmt.Fprintf(&b, "\n%s", method(len(msgs[0])))
	fmt.Print(b.String())
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(o.outDir, "fanout-"+time.Now().UTC().Format("20060102-150405")+".md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "saved %s\n", path)
	return nil
}

func (r result) label() string {
	l := fmt.Sprint(r.n)
	if r.run != 0 {
		l += fmt.Sprintf(" (run %d)", r.run)
	}
	if r.sync != "" {
		l += " " + r.sync
	}
	if r.campaign {
		l += " campaign"
	}
	return l
}

func perMsgOf(d time.Duration, n int) string {
	if d < 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f", perMsg(d, n))
}

func cores(c float64) string {
	if c < 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", c)
}

func count(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// method says what the numbers mean.
func method(msgSize int) string {
	return fmt.Sprintf(`How: each message is the same rendered blog post (about %d bytes on the wire).
raw: %d distinct pre-built, pre-dot-stuffed messages (own To, Message-ID and link tokens) cycled,
written by a minimal SMTP client (MAIL, RCPT and DATA pipelined, then the message) over persistent
connections opened before the clock starts; its CPU is the bench process's own. It runs just before
and just after practicemail, and "raw msg/s" is N over the mean of the two times.
practicemail: `+"`practicemail run`"+` as a child process on SQLite, Redis and the sink; its msg/s is N over
the time from the first ledger row written (the fan-out's first page) to the last row's sent_at,
both read from the ledger. CPU µs/msg is the child's user+system time from just before the post
was published to the last row sent (feed poll, fan-out, sending, ledger writes, asynq), over N;
Redis's CPU is extra. "Other load" is the CPU time of every other process on the machine over the
window, in cores: the machine is shared, and the sink and both clients need the same two cores. Peak RSS is the child's whole-life VmHWM, read from /proc until it exits
(not ru_maxrss, which on Linux also counts the parent's RSS from before the child's exec).
`, msgSize, rawRing)
}

// The targets for this bench.
const (
	targetRatio = 0.50     // of the raw baseline's msg/s
	targetRSS   = 64 << 20 // peak RSS, bytes
)

// verdict says, run by run, whether the targets were met.
func verdict(results []result) string {
	var b strings.Builder
	b.WriteString("\nTargets: at least 50% of the raw baseline, peak RSS under 64 MB.\n\n")
	for _, r := range results {
		ratio := r.pm.rate(r.n) / r.raw.rate(r.n)
		speed, mem := "met", "met"
		if ratio < targetRatio {
			speed = "NOT met"
		}
		if r.pm.maxRSS >= targetRSS {
			mem = "NOT met"
		}
		fmt.Fprintf(&b, "- %s: %.0f%% of raw (%s), peak RSS %.1f MB (%s)\n", r.label(), 100*ratio, speed, mb(r.pm.maxRSS), mem)
	}
	return b.String()
}
