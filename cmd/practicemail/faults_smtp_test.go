package main

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/practicemail/practicemail/internal/store"
)

// faultHarness runs the program for n subscribers against a blog whose first
// poll, two posts, is done: the next post is the one under test.
func faultHarness(t *testing.T, n int) (*harness, []string) {
	t.Helper()
	h := newHarness(t, harnessOptions{items: []item{postItem(1), postItem(2)}, holdOver: 3})
	emails := h.addSubscribers("reader", n, store.StatusActive)
	h.start()
	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 2 })
	return h, emails
}

// publish puts a third post on the blog and returns it.
func faultPublish(h *harness) item {
	it := postItem(3)
	h.feed.set(postItem(1), postItem(2), it)
	return it
}

// faultRcpts counts the RCPT TO commands the SMTP server saw, per address.
type faultRcpts struct {
	mu sync.Mutex
	n  map[string]int
}

// hook is a mailtest RCPT hook that counts each command and answers what
// reply says for the nth RCPT of that address (nil: 250).
func (l *faultRcpts) hook(reply func(to string, nth int) *smtp.SMTPError) func(string) *smtp.SMTPError {
	return func(to string) *smtp.SMTPError {
		l.mu.Lock()
		if l.n == nil {
			l.n = make(map[string]int)
		}
		l.n[to]++
		nth := l.n[to]
		l.mu.Unlock()
		return reply(to, nth)
	}
}

func (l *faultRcpts) count(to string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[to]
}

// faultLedger returns the ledger rows of the post under test: the one post
// past its baseline. It is empty until the post is fanned out.
func faultLedger(t *testing.T, h *harness) []store.Delivery {
	t.Helper()
	ctx := context.Background()
	ids := map[int64]bool{} // by ID: the post may move on from sending to sent between the two reads
	for _, state := range []string{store.PostSending, store.PostSent} {
		posts, err := h.db.PostsInState(ctx, state, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range posts {
			ids[p.ID] = true
		}
	}
	if len(ids) > 1 {
		t.Fatalf("%d posts are sending or sent, want 1", len(ids))
	}
	var id int64
	for k := range ids {
		id = k
	}
	if id == 0 {
		return nil
	}
	rows, err := h.db.Deliveries(ctx, store.KindPost, id)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// faultMostAttempts is the highest attempt count in the post's ledger.
func faultMostAttempts(t *testing.T, h *harness) int {
	t.Helper()
	most := 0
	for _, d := range faultLedger(t, h) {
		most = max(most, d.Attempts)
	}
	return most
}

// faultMaxTries is the most tries of one delivery that fit in elapsed when the
// delay between tries starts at base and at least doubles up to limit: the
// fastest retrying we accept. A hot loop would exceed it a hundredfold.
func faultMaxTries(elapsed, base, limit time.Duration) int {
	n, at, d := 1, time.Duration(0), base
	for at+d <= elapsed {
		at += d
		n++
		d = min(2*d, limit)
	}
	return n
}

// bounces reads a subscriber's bounce count, which the store keeps to
// itself, straight from the harness's SQLite file.
func faultBounces(t *testing.T, h *harness, email string) int {
	t.Helper()
	path, ok := strings.CutPrefix(h.dbURL, "sqlite:")
	if !ok {
		t.Fatalf("bounces reads SQLite only, not %s", h.dbURL)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(15000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT bounces FROM subscribers WHERE email = ?`, email).Scan(&n); err != nil {
		t.Fatalf("bounces of %s: %v", email, err)
	}
	return n
}

// faultLogCount counts the log lines with msg=name.
func faultLogCount(logs, name string) int {
	return strings.Count(logs, " msg="+name+" ")
}
