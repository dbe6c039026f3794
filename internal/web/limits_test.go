package web

import (
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// TestRateLimitSharedByTwoServers: a burst from one client spread over two
// web processes on one Redis is refused as if it had reached one.
func TestRateLimitSharedByTwoServers(t *testing.T) {
	rules := DefaultRules
	rules.SubscribeIP = ratelimit.Rule{Name: "subscribe-ip", Limit: 6, Per: time.Minute}
	lim := limited(t, rules)
	dbURL := storetest.URL(t, "sqlite")
	a, b := newEnv(t, dbURL, lim), newEnv(t, dbURL, lim)
	var codes []int
	var last response
	for i := range 10 {
		e := []*env{a, b}[i%2]
		last = e.do("POST", "/subscribe", "application/json", `{"email":"p`+strconv.Itoa(i)+`@example.com"}`)
		codes = append(codes, last.code)
	}
	want := []int{202, 202, 202, 202, 202, 202, 429, 429, 429, 429}
	if !slices.Equal(codes, want) {
		t.Fatalf("statuses of the burst = %v, want %v", codes, want)
	}
	if s, err := strconv.Atoi(last.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After = %q", last.header.Get("Retry-After"))
	}
	page := a.postForm("/subscribe", url.Values{"email": {"q@example.com"}})
	if page.code != 429 || page.header.Get("Retry-After") == "" || !strings.Contains(page.body, "Too many tries") {
		t.Errorf("form over the limit = %d %v:\n%s", page.code, page.header, page.body)
	}
	if got := len(a.recipients()); got != 6 {
		t.Errorf("%d ledger rows, want the 6 allowed", got)
	}
}

func TestRateLimitPerAddressAndTokens(t *testing.T) {
	rules := Rules{
		SubscribeIP:    ratelimit.Rule{Name: "subscribe-ip", Limit: 100, Per: time.Minute},
		SubscribeEmail: ratelimit.Rule{Name: "subscribe-email", Limit: 2, Per: time.Hour},
		TokenIP:        ratelimit.Rule{Name: "token-ip", Limit: 3, Per: time.Minute},
	}
	e := newEnv(t, storetest.URL(t, "sqlite"), limited(t, rules))
	var codes []int
	for range 3 {
		codes = append(codes, e.do("POST", "/subscribe", "application/json", `{"email":"same@example.com"}`).code)
	}
	codes = append(codes, e.do("POST", "/subscribe", "application/json", `{"email":"other@example.com"}`).code)
	if !slices.Equal(codes, []int{202, 202, 429, 202}) {
		t.Errorf("one address three times, then another = %v", codes)
	}
	// Links that fail are counted; a genuine one is never refused, not even
	// from a client over the limit (a mail provider's one-click POSTs all
	// come from a few addresses).
	good := "/unsubscribe/" + e.links.Token(links.Unsubscribe, 1)
	forged := "/unsubscribe/" + strings.Repeat("A", links.TokenLen)
	codes = codes[:0]
	for _, path := range []string{forged, good, forged, forged, forged, good, "/unsubscribe/short"} {
		codes = append(codes, e.get(path).code)
	}
	if !slices.Equal(codes, []int{404, 200, 404, 404, 429, 200, 429}) {
		t.Errorf("token pages = %v, want failures counted and a genuine link always served", codes)
	}
	oneClick := e.do("POST", good, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
	if oneClick.code != 200 {
		t.Errorf("one-click from a client over the limit = %d, want 200", oneClick.code)
	}
}

// TestRateLimitFailsOpen: with Redis gone, a reader can still sign up and
// leave; the failure is logged.
func TestRateLimitFailsOpen(t *testing.T) {
	logs := &logtest.Buffer{}
	e := newEnv(t, storetest.URL(t, "sqlite"), func(s *Server) {
		dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
		t.Cleanup(func() { dead.Close() })
		s.Limiter, s.Log = ratelimit.New(dead, "x:"), slog.New(slog.NewTextHandler(logs, nil))
	})
	if r := e.do("POST", "/subscribe", "application/json", `{"email":"ann@example.com"}`); r.code != 202 {
		t.Errorf("sign-up with Redis down = %d", r.code)
	}
	if r := e.get("/unsubscribe/" + e.links.Token(links.Unsubscribe, 1)); r.code != 200 {
		t.Errorf("unsubscribe page with Redis down = %d", r.code)
	}
	if !strings.Contains(logs.String(), "rate_limit_unavailable") {
		t.Errorf("no rate_limit_unavailable in the log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "ann@example.com") {
		t.Errorf("the log names the address:\n%s", logs.String())
	}
}
