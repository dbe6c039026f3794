package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/store"
)

// fakeSignups is a /subscribe that answers 202, or 429 to every tenth.
type fakeSignups struct {
	mu      sync.Mutex
	n       int
	emails  map[string]bool
	clients map[string]bool
}

func (f *fakeSignups) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct{ Email string }
	err := json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	f.n++
	n := f.n
	f.emails[body.Email] = true
	f.clients[r.Header.Get("X-Forwarded-For")] = true
	f.mu.Unlock()
	switch {
	case err != nil || r.URL.Path != "/subscribe" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Origin") != signupOrigin:
		w.WriteHeader(http.StatusBadRequest)
	case n%10 == 0:
		w.WriteHeader(http.StatusTooManyRequests)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// The load's two shapes send what practicemail takes (JSON from the
// practice's origin, a new address and a client address of its own each
// time) and count what comes back.
func TestSignupLoad(t *testing.T) {
	f := &fakeSignups{emails: map[string]bool{}, clients: map[string]bool{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	closed := newSignups(addr, "c-", 4).closedLoop(ctx, 4)
	cancel()
	ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
	start := time.Now()
	samples := newSignups(addr, "o-", 8).openLoop(ctx, 100)
	cancel()
	open := window(samples, start, start.Add(500*time.Millisecond))

	f.mu.Lock()
	defer f.mu.Unlock()
	if closed.codes[http.StatusBadRequest] > 0 || open.codes[http.StatusBadRequest] > 0 {
		t.Fatalf("the server refused the requests' shape: closed %v, open %v", closed.codes, open.codes)
	}
	if len(f.emails) != f.n || len(f.clients) != f.n {
		t.Fatalf("%d requests used %d addresses and %d client addresses; want a new address each time", f.n, len(f.emails), len(f.clients))
	}
	if got := closed.total() + len(samples); got != f.n {
		t.Fatalf("counted %d answers, the server %d requests", got, f.n)
	}
	if open.total() < 40 || open.total() > 51 {
		t.Fatalf("open loop at 100/s for 0.5 s sent %d requests", open.total())
	}
	if open.codes[http.StatusTooManyRequests] == 0 || !strings.Contains(open.others(), "429×") {
		t.Fatalf("the 429s are not counted apart: %v, %q", open.codes, open.others())
	}
	if p := open.pct(99); p <= 0 || p < open.pct(50) || open.pct(100) < p {
		t.Fatalf("percentiles: p50 %s p99 %s max %s", open.pct(50), p, open.pct(100))
	}
}

func TestWindowPercentiles(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var s []sample
	for i := 1; i <= 100; i++ {
		s = append(s, sample{at: t0.Add(time.Duration(i) * time.Millisecond), lat: time.Duration(i) * time.Millisecond, code: 202})
	}
	s = append(s, sample{at: t0.Add(50 * time.Millisecond), code: 503}, sample{at: t0.Add(time.Hour), lat: time.Hour, code: 202})
	r := window(s, t0, t0.Add(time.Second))
	if r.pct(50) != 50*time.Millisecond || r.pct(99) != 99*time.Millisecond || r.pct(100) != 100*time.Millisecond {
		t.Fatalf("p50 %s p99 %s max %s", r.pct(50), r.pct(99), r.pct(100))
	}
	if r.total() != 101 || r.others() != "503×1" || r.rate() != 100 {
		t.Fatalf("total %d, others %q, rate %.1f", r.total(), r.others(), r.rate())
	}
}

// The child's configuration, with the sign-up keys, is one practicemail
// accepts.
func TestConfigWithSignupKeysLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "practicemail.yaml")
	o := options{smtpAddr: "127.0.0.1:2525", redisURL: "redis://127.0.0.1:6379/12", conns: 4, subscribeN: 20000}
	if err := writeConfig(path, "sqlite:/tmp/x.db", "127.0.0.1:18080", o, "http://127.0.0.1:1/feed/"); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		b, _ := os.ReadFile(path)
		t.Fatalf("%v\n%s", err, b)
	}
	if len(cfg.HTTP.AllowedOrigins) != 1 || len(cfg.HTTP.TrustedProxies) != 1 || cfg.HTTP.Addr != "127.0.0.1:18080" {
		t.Fatalf("http: %+v", cfg.HTTP)
	}
}

// The bench writes its subscribers straight into the tables: they must
// still fit the schema the migrations make today.
func TestSeedFitsTheSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "practicemail.db")
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := seed(ctx, path, 50); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subscribers[store.StatusActive] != 50 {
		t.Fatalf("subscribers by status after seeding 50: %v", c.Subscribers)
	}
}
