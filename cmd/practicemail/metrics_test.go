package main

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

const testAdminPassword = "admin-password-0123456789"

// TestMetricsAnswerForTheWholeInstallation: `run` with an admin password
// serves GET /metrics to a scraper that gives it: after a post reaches 20
// people, the ledger's rows, the subscribers, the feed's polls, the task
// queues and both sources are there, and no address of anyone. Without the
// password the answer is 401 and nothing else.
func TestMetricsAnswerForTheWholeInstallation(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: 3})
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "secrets:\n", "secrets:\n  admin_password: "+testAdminPassword+"\n", 1))
	if err := os.WriteFile(h.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	active := h.addSubscribers("reader", 20, store.StatusActive)
	h.addSubscribers("left", 2, store.StatusUnsubscribed)
	h.start()
	if !strings.Contains(h.logs.String(), "admin:    /metrics (Prometheus), behind secrets.admin_password") {
		t.Errorf("run does not say where the metrics are:\n%s", h.logs.String())
	}
	base := httpLine.FindStringSubmatch(h.logs.String())[1]

	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	h.feed.set(postItem(1), postItem(2))
	h.waitFor("20 messages", 60*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 20 })

	code, body := scrape(t, base, "Bearer "+testAdminPassword)
	if code != 200 {
		t.Fatalf("GET /metrics with the password = %d:\n%s", code, body)
	}
	for _, want := range []string{
		`practicemail_up{source="database"} 1`,
		`practicemail_up{source="redis"} 1`,
		`practicemail_deliveries{state="sent"} 20`,
		`practicemail_deliveries{state="failed"} 0`,
		`practicemail_subscribers{status="active"} 20`,
		`practicemail_subscribers{status="unsubscribed"} 2`,
		`practicemail_posts{state="baseline"} 1`,
		`practicemail_feed_failures{feed="blog"} 0`,
		`practicemail_feed_enabled{feed="blog"} 1`,
	} {
		if !hasLine(body, want) {
			t.Errorf("no line %q in:\n%s", want, body)
		}
	}
	for _, series := range []string{`practicemail_feed_last_success_timestamp_seconds{feed="blog"} `,
		`practicemail_queue_tasks{queue="mail",state="pending"} `, `go_goroutines `, `process_resident_memory_bytes `} {
		if !strings.Contains(body, "\n"+series) {
			t.Errorf("no series %s in:\n%s", series, body)
		}
	}
	if strings.Contains(body, "@") || strings.Contains(body, active[0]) {
		t.Errorf("the metrics name somebody:\n%s", body)
	}

	code, body = scrape(t, base, "")
	if code != 401 || strings.Contains(body, "practicemail_") {
		t.Errorf("GET /metrics without the password = %d:\n%s", code, body)
	}
}

// scrape GETs /metrics with an Authorization header ("" for none).
func scrape(t *testing.T, base, authorization string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// hasLine says whether text has line as a whole line.
func hasLine(text, line string) bool {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).MatchString(text)
}
