package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
	"github.com/practicemail/practicemail/worker"
)

// harness is the whole program running in-process against real SQL, real
// Redis, a real SMTP server over TCP and an httptest blog.
type harness struct {
	t      *testing.T
	dir    string
	config string
	dbURL  string
	smtp   *mailtest.Server
	feed   *feedServer
	db     *store.DB // the test's own connection, for seeding and checking
	app    *App

	stop func()
	logs *logtest.Buffer
}

type harnessOptions struct {
	engine   string // sqlite (default) or postgres
	format   format
	items    []item
	holdOver int
	extra    string // more YAML
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	if o.engine == "" {
		o.engine = "sqlite"
	}
	if o.format == nil {
		o.format = rss
	}
	redistest.DB(t, redistest.Commands) // emptied
	h := &harness{t: t, dir: t.TempDir(), smtp: mailtest.NewServer(t), logs: &logtest.Buffer{}}
	h.feed = newFeedServer(t, o.format, o.items...)
	h.dbURL = storetest.URL(t, o.engine)
	h.config = filepath.Join(h.dir, "practicemail.yaml")
	yaml := fmt.Sprintf(`practice:
  name: Stillpoint Counseling
  base_url: https://mail.stillpoint.example
  time_zone: America/Denver
  postal_address: "1200 Pearl St, Suite 4, Boulder, CO 80302"
  from: "Stillpoint Counseling <hello@stillpoint.example>"
  reply_to: hello@stillpoint.example
http:
  addr: 127.0.0.1:0
database:
  url: %q
redis:
  url: %s
smtp:
  url: %s
  tls: none
  connections: 4
  rate: unlimited
  outbox_dir: %s
secrets:
  link_key: test-link-key-0123456789abcdef
feeds:
  - name: blog
    url: %s
    every: 1s
    hold_over: %d
%s`, h.dbURL, redistest.Commands.URL(), h.smtp.URL, filepath.Join(h.dir, "outbox"), h.feed.FeedURL(), o.holdOver, o.extra)
	if err := os.WriteFile(h.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	h.exec("migrate")
	db, err := store.Open(context.Background(), h.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	return h
}

// main returns a Main tuned for tests: quick polling of queues, quick retries.
func (h *harness) main() *Main {
	return &Main{
		Stdout: h.logs, Stderr: h.logs, Env: []string{},
		WorkerOptions:  worker.Options{BatchSize: 100, RetryBase: 200 * time.Millisecond, RetryMax: time.Second, Lease: 3 * time.Second},
		SchedulerTick:  100 * time.Millisecond,
		ReconcileEvery: time.Second,
		QueuePoll:      50 * time.Millisecond,
	}
}

// exec runs a command to completion and returns its standard output.
func (h *harness) exec(args ...string) string {
	h.t.Helper()
	var out logtest.Buffer
	m := h.main()
	m.Stdout = &out
	if err := m.Execute(context.Background(), append(args, "--config", h.config)); err != nil {
		h.t.Fatalf("practicemail %s: %v\nlogs:\n%s", strings.Join(args, " "), err, h.logs.String())
	}
	return out.String()
}

// start runs `practicemail run` until the test ends or stop is called.
func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *App, 1)
	done := make(chan error, 1)
	m := h.main()
	m.Started = func(a *App) { started <- a }
	go func() { done <- m.Execute(ctx, []string{"run", "--config", h.config}) }()
	select {
	case h.app = <-started:
	case err := <-done:
		cancel()
		h.t.Fatalf("run exited at start: %v\nlogs:\n%s", err, h.logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		h.t.Fatalf("run did not start\nlogs:\n%s", h.logs.String())
	}
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("run: %v", err)
			}
		})
	}
	h.t.Cleanup(h.stop)
}

// addSubscribers adds n subscribers of the posts topic with a status, named
// prefix-i@example.com.
func (h *harness) addSubscribers(prefix string, n int, status string) []string {
	h.t.Helper()
	ctx := context.Background()
	var emails []string
	for i := range n {
		e := fmt.Sprintf("%s-%d@example.com", prefix, i)
		r, err := h.db.AddSubscriber(ctx, store.NewSubscriber{Email: e, Name: fmt.Sprintf("Person %d", i),
			Topics: []string{"posts"}, Confirmed: status == store.StatusActive, ConsentSource: "test"})
		if err != nil {
			h.t.Fatal(err)
		}
		if status != store.StatusActive && status != store.StatusPending {
			if err := h.db.SetSubscriberStatus(ctx, r.ID, status); err != nil {
				h.t.Fatal(err)
			}
		}
		emails = append(emails, e)
	}
	return emails
}

// waitFor polls cond until it holds, failing the test after timeout.
func (h *harness) waitFor(what string, timeout time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %s waiting for %s\nlogs (tail):\n%s", timeout, what, tail(h.logs.String(), logLines()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPolls waits until the blog has seen n more feed requests.
func (h *harness) waitPolls(n int) {
	h.t.Helper()
	start, _, _ := h.feed.counts()
	h.waitFor(fmt.Sprintf("%d more polls", n), 20*time.Second, func() bool {
		now, _, _ := h.feed.counts()
		return now >= start+n
	})
}

// posts counts the posts in each state.
func (h *harness) posts() map[string]int64 {
	h.t.Helper()
	c, err := h.db.Counts(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return c.Posts
}

func (h *harness) deliveries() map[string]int64 {
	h.t.Helper()
	c, err := h.db.Counts(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return c.Deliveries
}

// logLines is how much of the program's log a failure shows; set
// PRACTICEMAIL_TEST_LOG_LINES for more.
func logLines() int {
	if n, err := strconv.Atoi(os.Getenv("PRACTICEMAIL_TEST_LOG_LINES")); err == nil {
		return n
	}
	return 40
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
