package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/practicemail/practicemail/internal/browsertest"
	"github.com/practicemail/practicemail/internal/redistest"
)

// TestRateLimitIsSharedByTwoWebProcesses: two `practicemail web`
// processes on one Redis behind a (pretend) proxy. A burst from one client
// at the first alone is cut off after some number L of sign-ups; the second,
// which has seen nothing from that client, refuses it at once. The same
// burst spread over both is cut off after the same L (per-process counters
// would allow twice that), with 429 and Retry-After from both, and the
// browser gets the human page.
func TestRateLimitIsSharedByTwoWebProcesses(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}})
	base := "http://" + freeAddr(t)
	web1 := h.variant("web1.yaml", "base_url: https://mail.stillpoint.example", "base_url: "+base,
		"addr: 127.0.0.1:0", "addr: "+strings.TrimPrefix(base, "http://"))
	web2URL := "http://" + freeAddr(t)
	web2 := h.variant("web2.yaml", "base_url: https://mail.stillpoint.example", "base_url: "+base,
		"addr: 127.0.0.1:0", "addr: "+strings.TrimPrefix(web2URL, "http://"))
	h.startRole("web", web1)
	h.startRole("web", web2)
	servers := []string{base, web2URL}
	c := &burst{t: t}

	// At the first alone until it refuses, then once at the second.
	limit := c.untilRefused(servers[:1])
	if limit < 1 {
		t.Fatalf("the first request of the burst was refused")
	}
	if code, _ := c.subscribe(web2URL); code != http.StatusTooManyRequests {
		t.Fatalf("after %d sign-ups at the first process, the second answered %d to the same client, want 429", limit, code)
	}

	// A person in a browser at the same address opens the form now, and
	// sends it after the burst below.
	b := browsertest.New(t, browsertest.Options{})
	if code := b.Navigate("subscribe-form", base+"/subscribe"); code != http.StatusOK {
		t.Fatalf("GET /subscribe: status %d", code)
	}
	served := time.Now()

	// Counters gone (Redis emptied: the web processes keep none of their
	// own), then the same client spread over both. The limit lets one more
	// through every Per/Limit (6 s at 10 a minute) after the burst began:
	// what follows happens well within that.
	if err := redistest.Client(t, redistest.Commands).FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	c.refusedBy = map[string]int{}
	if spread := c.untilRefused(servers); spread != limit {
		t.Fatalf("a burst spread over two processes got %d sign-ups through, at one process %d: the limit is not shared", spread, limit)
	}
	c.subscribe(servers[0])
	c.subscribe(servers[1])
	for _, u := range servers {
		if c.refusedBy[u] == 0 {
			t.Fatalf("%s never answered 429 during the spread burst (%v)", u, c.refusedBy)
		}
	}

	// The person gets a page saying when to try again, not a blank 429.
	b.Do("filled-in", chromedp.SendKeys(chromedp.CSS("#email"), "late@example.com"))
	time.Sleep(time.Until(served.Add(2200 * time.Millisecond))) // the hosted form's bot check: a person takes longer
	resp := b.Submit("rate-limited", chromedp.Click(chromedp.CSS(`form[action="/subscribe"] button[type=submit]`)))
	if resp.Status != http.StatusTooManyRequests || resp.Headers["Retry-After"] == nil {
		t.Fatalf("the browser's sign-up after the burst: status %d, headers %v; want 429 with Retry-After", resp.Status, resp.Headers)
	}
	if text := b.Text("body"); len(strings.TrimSpace(text)) < 20 {
		t.Fatalf("the 429 page says only %q", text)
	}
	if !h.absent("late@example.com") {
		t.Fatal("a refused sign-up was stored")
	}
}

// burst is one client (a script, not a browser: no Origin) signing up
// different addresses as fast as it can.
type burst struct {
	t         *testing.T
	n         int
	refusedBy map[string]int
}

// untilRefused signs up new addresses at the servers in turn until one
// answers 429 (checking its Retry-After), and returns how many got through.
func (c *burst) untilRefused(servers []string) int {
	c.t.Helper()
	if c.refusedBy == nil {
		c.refusedBy = map[string]int{}
	}
	for ok := 0; ok < 1000; ok++ {
		u := servers[ok%len(servers)]
		code, retry := c.subscribe(u)
		switch {
		case code == http.StatusTooManyRequests:
			if secs, err := strconv.Atoi(retry); err != nil || secs < 1 {
				c.t.Fatalf("429 from %s with Retry-After %q, want a number of seconds", u, retry)
			}
			return ok
		case code >= 300:
			c.t.Fatalf("sign-up %d at %s: status %d", ok, u, code)
		}
	}
	c.t.Fatal("1000 sign-ups from one client and never a 429")
	return 0
}

// subscribe posts one new address as JSON and returns the status and
// Retry-After.
func (c *burst) subscribe(server string) (int, string) {
	c.t.Helper()
	c.n++
	body := fmt.Sprintf(`{"email": "burst-%d@example.com"}`, c.n)
	req, err := http.NewRequest(http.MethodPost, server+"/subscribe", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s/subscribe: %v", server, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		c.refusedBy[server]++
	}
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// startRole runs `practicemail ROLE --config path` until the test ends.
func (h *harness) startRole(role, path string) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	m := h.main()
	m.Started = func(*App) { close(started) }
	go func() { done <- m.Execute(ctx, []string{role, "--config", path}) }()
	select {
	case <-started:
	case err := <-done:
		cancel()
		h.t.Fatalf("%s exited at start: %v\nlogs:\n%s", role, err, h.logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		h.t.Fatalf("%s did not start\nlogs:\n%s", role, h.logs.String())
	}
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("%s: %v", role, err)
		}
	})
}
