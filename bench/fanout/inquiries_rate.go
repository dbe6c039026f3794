package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// sinkTail follows smtp-sink's -c output from the end it had when opened,
// reading only what was written since: sampled every few milliseconds,
// the whole file would be read thousands of times.
type sinkTail struct {
	f    *os.File
	part []byte // the record being written when last read
	last int64  // the last counter read
}

func openSinkTail(path string) (*sinkTail, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	t := &sinkTail{f: f}
	b, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	t.take(b)
	return t, nil
}

func (t *sinkTail) Close() error { return t.f.Close() }

// count is the sink's message counter now.
func (t *sinkTail) count() (int64, error) {
	b, err := io.ReadAll(t.f)
	if err != nil {
		return 0, err
	}
	t.take(b)
	if t.last < 0 {
		return 0, fmt.Errorf("smtp-sink's counter cannot be read")
	}
	return t.last, nil
}

// take reads the counter of the last complete record of t.part+b.
func (t *sinkTail) take(b []byte) {
	b = append(t.part, b...)
	end := bytes.LastIndexByte(b, '\r')
	if end < 0 {
		t.part = b
		return
	}
	t.last = lastMesg(b[:end])
	t.part = append([]byte(nil), b[end+1:]...)
}

// tick is the sink's counter at a moment.
type tick struct {
	at time.Time
	n  int64
}

// sinkSampler reads the sink's counter every interval until stopped.
type sinkSampler struct {
	mu    sync.Mutex
	ticks []tick
	err   error
}

// sampleSink samples t every interval until ctx ends.
func sampleSink(ctx context.Context, t *sinkTail, every time.Duration) *sinkSampler {
	s := &sinkSampler{}
	read := func() bool {
		n, err := t.count()
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.err = err
			return false
		}
		s.ticks = append(s.ticks, tick{at: time.Now(), n: n})
		return true
	}
	read()
	go func() {
		tk := time.NewTicker(every)
		defer tk.Stop()
		for ctx.Err() == nil && read() {
			select {
			case <-ctx.Done():
			case <-tk.C:
			}
		}
	}()
	return s
}

func (s *sinkSampler) result() ([]tick, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tick(nil), s.ticks...), s.err
}

// perSecond is how many messages the sink took in each whole second from
// from until the last sample: second i counts what arrived between the last
// sample at or before from+i s and the last at or before from+(i+1) s.
func perSecond(ticks []tick, from time.Time) []int64 {
	if len(ticks) == 0 {
		return nil
	}
	var out []int64
	prev := countAt(ticks, from)
	for t := from.Add(time.Second); !t.After(ticks[len(ticks)-1].at); t = t.Add(time.Second) {
		n := countAt(ticks, t)
		out = append(out, n-prev)
		prev = n
	}
	return out
}

// countAt is the counter of the last sample at or before t (the first
// sample's, for a t before it).
func countAt(ticks []tick, t time.Time) int64 {
	n := ticks[0].n
	for _, k := range ticks {
		if k.at.After(t) {
			break
		}
		n = k.n
	}
	return n
}

// busiestSecond is the most messages the sink took in any one second,
// sliding over the samples: for each sample, what arrived since the last
// sample at least a second before it (so a span of at most a second and
// one sampling interval).
func busiestSecond(ticks []tick) int64 {
	var most int64
	j := 0
	for i, k := range ticks {
		for j+1 < i && !ticks[j+1].at.After(k.at.Add(-time.Second)) {
			j++
		}
		if j < i && !ticks[j].at.After(k.at.Add(-time.Second)) {
			most = max(most, k.n-ticks[j].n)
		}
	}
	return most
}

// redisMemory samples Redis's used_memory every interval until ctx ends,
// and returns the largest seen.
type redisMemory struct {
	mu        sync.Mutex
	now, peak int64
	done      chan struct{}
}

func sampleRedisMemory(ctx context.Context, redisURL string, every time.Duration) (*redisMemory, error) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opt)
	m := &redisMemory{done: make(chan struct{})}
	go func() {
		defer close(m.done)
		defer rdb.Close()
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			if n, err := usedMemory(ctx, rdb); err == nil {
				m.mu.Lock()
				m.now, m.peak = n, max(m.peak, n)
				m.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
	return m, nil
}

// last is the latest sample (0 before the first).
func (m *redisMemory) last() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// wait waits for the sampler to stop (its ctx ended) and returns the peak.
func (m *redisMemory) wait() int64 {
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak
}

// usedMemory is INFO memory's used_memory, in bytes.
func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}
