package web

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
	"github.com/practicemail/practicemail/templates"
)

const testKey = "0123456789abcdef0123456789abcdef"

// clock is the one clock of a test: the store, the signer and the server
// all read it, and the test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// queue records the batches the server enqueues.
type queue struct {
	mu      sync.Mutex
	batches []store.BatchRef
	err     error
}

func (q *queue) EnqueueDelivery(ctx context.Context, b store.BatchRef) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.batches = append(q.batches, b)
	return q.err
}

func (q *queue) len() int { q.mu.Lock(); defer q.mu.Unlock(); return len(q.batches) }

// env is a real server over real HTTP on a real database.
type env struct {
	t     testing.TB
	db    *store.DB
	raw   *sql.DB
	srv   *Server
	url   string
	clock *clock
	queue *queue
	links *links.Signer
	logs  *logtest.Buffer // the server's log
}

// eachEngine runs fn on SQLite and PostgreSQL.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, storetest.URL(t, engine), nil))
		})
	}
}

// newEnv starts a server on the database at dbURL; configure, if not nil,
// changes the Server before it starts.
func newEnv(t testing.TB, dbURL string, configure func(*Server)) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	db := storetest.OpenAt(t, dbURL)
	db.Now = clk.Now
	signer, err := links.NewSigner("http://practice.test", []byte(testKey), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := templates.NewPages()
	if err != nil {
		t.Fatal(err)
	}
	q := &queue{}
	logs := &logtest.Buffer{}
	s := &Server{
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), DB: db, Links: signer, Pages: pages, Queue: q,
		Practice:       Practice{Name: "Stillpoint Counseling", BaseURL: "http://practice.test", PostalAddress: "1200 Pearl St"},
		AllowedOrigins: []string{"https://stillpoint.example"},
		FormKey:        []byte(testKey), EraseKey: []byte(testKey), Now: clk.Now,
	}
	if configure != nil {
		configure(s)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, db: db, raw: storetest.Raw(t, dbURL), srv: s, url: ts.URL, clock: clk, queue: q, links: signer, logs: logs}
}

// limited gives the server a limiter on the test Redis with keys of its own.
func limited(t *testing.T, rules Rules) func(*Server) {
	rdb := redistest.Client(t, redistest.RateLimit)
	prefix := fmt.Sprintf("practicemail:test:web:%s:%d:", t.Name(), time.Now().UnixNano())
	return func(s *Server) { s.Limiter, s.Rules = ratelimit.New(rdb, prefix), rules }
}

// response is what a request got.
type response struct {
	code   int
	header http.Header
	body   string
}

var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// do sends a request; header is pairs of name, value.
func (e *env) do(method, path, contentType, body string, header ...string) response {
	e.t.Helper()
	return e.send(method, path, contentType, strings.NewReader(body), header...)
}

// chunked posts body without a Content-Length.
func (e *env) chunked(path, contentType, body string) response {
	e.t.Helper()
	return e.send(http.MethodPost, path, contentType, io.MultiReader(strings.NewReader(body)))
}

func (e *env) send(method, path, contentType string, body io.Reader, header ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	// Unescaped, so tests can look for "You're" rather than "You&#39;re".
	return response{code: res.StatusCode, header: res.Header, body: html.UnescapeString(string(b))}
}

const formType = "application/x-www-form-urlencoded"

func (e *env) get(path string, header ...string) response {
	e.t.Helper()
	return e.do(http.MethodGet, path, "", "", header...)
}

func (e *env) postForm(path string, v url.Values, header ...string) response {
	e.t.Helper()
	return e.do(http.MethodPost, path, formType, v.Encode(), header...)
}

var stampRE = regexp.MustCompile(`name="ts" value="([^"]+)"`)

// formStamp fetches the hosted form and returns its signed timestamp, then
// moves the clock on as a person filling it in would.
func (e *env) formStamp() string {
	e.t.Helper()
	r := e.get("/subscribe")
	m := stampRE.FindStringSubmatch(r.body)
	if r.code != 200 || m == nil {
		e.t.Fatalf("GET /subscribe = %d without a stamp:\n%s", r.code, r.body)
	}
	e.clock.Add(5 * time.Second)
	return m[1]
}

// signup sends the hosted form for address as a person would.
func (e *env) signup(address string) response {
	e.t.Helper()
	return e.postForm("/subscribe", url.Values{"email": {address}, "name": {"Ann"}, "topics": {"posts"}, "ts": {e.formStamp()}})
}

// recipients lists every ledger row's recipient, sorted.
func (e *env) recipients() []string {
	e.t.Helper()
	return e.strings(`SELECT recipient FROM deliveries ORDER BY recipient`)
}

func (e *env) strings(query string) []string {
	e.t.Helper()
	rows, err := e.raw.Query(query)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// statuses maps every subscriber's address to their status.
func (e *env) statuses() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	subs, err := e.db.ListSubscribers(context.Background(), "", 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range subs {
		out[s.Email] = s.Status + "/" + strings.Join(slices.Sorted(slices.Values(s.Topics)), ",")
	}
	return out
}

// add adds a subscriber directly and returns their id.
func (e *env) add(address, status string, topics ...string) int64 {
	e.t.Helper()
	n := store.NewSubscriber{Email: address, Topics: topics, Confirmed: status == store.StatusActive, ConsentSource: "cli"}
	if status != store.StatusActive && status != store.StatusPending {
		n.Suppressed = status
	}
	r, err := e.db.AddSubscriber(context.Background(), n)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.ID
}

func (e *env) subscriber(id int64) *store.Subscriber {
	e.t.Helper()
	s, err := e.db.SubscriberByID(context.Background(), id)
	if err != nil {
		e.t.Fatalf("subscriber %d: %v", id, err)
	}
	return s
}
