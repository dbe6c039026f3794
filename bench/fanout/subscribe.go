package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// signupOrigin is the practice's own site: its pasted form and its
// scripts post from there (http.allowed_origins in the child's config).
const signupOrigin = "https://stillpoint.example"

// loadResult is one stretch of POST load (sign-ups or inquiries).
type loadResult struct {
	elapsed time.Duration
	codes   map[int]int     // answers by HTTP status; 0 for a transport error
	lat     []time.Duration // of the 2xx answers, sorted
}

func (r loadResult) total() int {
	n := 0
	for _, c := range r.codes {
		n += c
	}
	return n
}

// rate is answered requests (2xx) per second.
func (r loadResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.lat)) / r.elapsed.Seconds()
}

// pct is the p-th percentile latency of the 2xx answers (nearest rank).
func (r loadResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.lat))+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// others says which answers were not 2xx, e.g. "429×3", or "none".
func (r loadResult) others() string {
	var parts []string
	for code, n := range r.codes {
		if code < 200 || code >= 300 {
			parts = append(parts, fmt.Sprintf("%d×%d", code, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// poster posts JSON forms to one practicemail from the practice's site,
// each from a client address of its own (X-Forwarded-For, which the child
// believes of loopback) and, by its body, for a new address: the
// per-client and per-address limits are checked in Redis on every request,
// as in production, but none is reached, so what is measured is the
// request itself. POST /subscribe (newSignups) and POST /inquiries
// (newInquiries) are its two uses.
type poster struct {
	url    string // http://host:port/path
	client *http.Client
	next   atomic.Int64
	body   func(i int64) string // the i-th request's JSON body
}

// clientSeq numbers the pretend client addresses across every stretch of
// load, so that none is used twice in a run (16 million before one is).
var clientSeq atomic.Int64

func newPoster(addr, path string, conns int, body func(i int64) string) *poster {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	return &poster{url: "http://" + addr + path, body: body,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// newSignups posts sign-ups, each a new address starting with prefix, which
// keeps the addresses of separate stretches apart.
func newSignups(addr, prefix string, conns int) *poster {
	return newPoster(addr, "/subscribe", conns, func(i int64) string {
		return fmt.Sprintf(`{"email": "%s%d@example.org", "name": "Reader %d", "topics": ["posts"]}`, prefix, i, i)
	})
}

// one posts one request and returns its status (0 for a transport error).
func (s *poster) one(ctx context.Context) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(s.body(s.next.Add(1))))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", signupOrigin)
	c := clientSeq.Add(1)
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", c>>16&255, c>>8&255, c&255))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// sample is one answer: when the request was due, how long it took, its
// status.
type sample struct {
	at   time.Time
	lat  time.Duration
	code int
}

// recorder gathers answers from several goroutines.
type recorder struct {
	mu      sync.Mutex
	samples []sample
}

func (r *recorder) add(at time.Time, code int) {
	lat := time.Since(at)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, sample{at: at, lat: lat, code: code})
}

// window is the load's result over the requests due from `from` to `to`.
func window(samples []sample, from, to time.Time) loadResult {
	r := loadResult{elapsed: to.Sub(from), codes: map[int]int{}}
	for _, s := range samples {
		if s.at.Before(from) || s.at.After(to) {
			continue
		}
		r.codes[s.code]++
		if s.code >= 200 && s.code < 300 {
			r.lat = append(r.lat, s.lat)
		}
	}
	slices.Sort(r.lat)
	return r
}

func (r *recorder) all() []sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples)
}

// closedLoop keeps conns requests in flight, each sent as the previous
// answer arrives, until ctx ends: the most requests per second it can take.
func (s *poster) closedLoop(ctx context.Context, conns int) loadResult {
	var rec recorder
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				rec.add(t0, s.one(context.WithoutCancel(ctx)))
			}
		})
	}
	wg.Wait()
	return window(rec.all(), start, time.Now())
}

// openLoop starts a request every 1/perSecond, whether or not earlier ones
// were answered, until ctx ends, and returns every answer. A latency counts
// from when the request was due, so a server that stalls is not let off by
// the client waiting for it.
func (s *poster) openLoop(ctx context.Context, perSecond float64) []sample {
	var rec recorder
	start := time.Now()
	every := time.Duration(float64(time.Second) / perSecond)
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * every)
		select {
		case <-ctx.Done():
			wg.Wait()
			return rec.all()
		case <-time.After(time.Until(due)):
		}
		wg.Go(func() { rec.add(due, s.one(context.WithoutCancel(ctx))) })
	}
}
