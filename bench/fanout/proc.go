package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's CPU times.
const clockTicks = 100

// procCPU is a process's user plus system CPU time so far, from /proc.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which may hold spaces: state is [0];
	// utime and stime are fields 14 and 15 of the whole line, [11] and [12] here.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad CPU times", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// procHWM is a process's peak resident set size so far, in bytes.
func procHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

// sinkCount is smtp-sink's running message counter ("mesg=N" in its -c
// output), or -1 when there is no log to read.
func sinkCount(path string) int64 {
	if path == "" {
		return -1
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	return lastMesg(b)
}

// lastMesg is the last "mesg=N" counter in smtp-sink -c output: 0 when
// there is none yet, -1 when it cannot be read. A counter cut short at the
// end of b reads short: give it complete records (each ends in '\r').
func lastMesg(b []byte) int64 {
	i := bytes.LastIndex(b, []byte("mesg="))
	if i < 0 {
		return 0
	}
	digits := b[i+len("mesg="):]
	end := bytes.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		digits = digits[:end]
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// waitSinkCount gives the sink up to two seconds to count want messages and
// returns its count.
func waitSinkCount(path string, want int64) int64 {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := sinkCount(path)
		if n >= want || n < 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// flushRedis empties the bench's Redis database and returns the server's
// process ID, for its CPU time (0 when it cannot be read).
func flushRedis(ctx context.Context, redisURL string) (int, error) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return 0, fmt.Errorf("-redis: %w", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return 0, fmt.Errorf("flush redis %s: %w", redisURL, err)
	}
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0, nil
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ := strconv.Atoi(v)
			return pid, nil
		}
	}
	return 0, nil
}

// pids are the processes whose CPU time a window accounts for; 0 is none.
type pids struct{ child, sink, redis int }

// cpuSample is the CPU time used so far by the machine and by each process.
type cpuSample struct {
	at                                time.Time
	machine, self, child, sink, redis time.Duration
}

// usage is the CPU time used over a window. A process that could not be
// read has -1.
type usage struct {
	wall                              time.Duration
	machine, self, child, sink, redis time.Duration
}

func sampleCPU(p pids) cpuSample {
	return cpuSample{at: time.Now(), machine: machineBusy(), self: selfCPU(), child: cpuOf(p.child), sink: cpuOf(p.sink), redis: cpuOf(p.redis)}
}

func (a cpuSample) until(b cpuSample) usage {
	diff := func(x, y time.Duration) time.Duration {
		if x < 0 || y < 0 {
			return -1
		}
		return y - x
	}
	return usage{wall: b.at.Sub(a.at), machine: diff(a.machine, b.machine), self: b.self - a.self, child: diff(a.child, b.child),
		sink: diff(a.sink, b.sink), redis: diff(a.redis, b.redis)}
}

// otherCores is how many cores, on average, processes not measured kept
// busy: on a shared machine, other people's work competing for the cores.
func (u usage) otherCores() float64 {
	if u.machine < 0 || u.wall <= 0 {
		return -1
	}
	other := u.machine - u.self - max(u.child, 0) - max(u.sink, 0) - max(u.redis, 0)
	return max(other, 0).Seconds() / u.wall.Seconds()
}

func cpuOf(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	d, err := procCPU(pid)
	if err != nil {
		return -1
	}
	return d
}

// machineBusy is the CPU time all cores have spent busy since boot
// (/proc/stat: everything but idle and iowait), or -1.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var busy int64
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return -1
		}
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / clockTicks
}
