package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/practicemail/practicemail/internal/browsertest"
	"github.com/practicemail/practicemail/internal/store"
)

const testAdminPassword = "admin-password-0123456789"

// TestMetricsAnswerForTheWholeInstallation: `run` with an admin password
// serves GET /metrics to a scraper that gives it: after a post reaches 20
// people, the ledger's rows, the subscribers, the feed's polls, the task
// queues and both sources are there, and no address of anyone. Without the
// password the answer is 401 and nothing else.
func TestMetricsAnswerForTheWholeInstallation(t *testing.T) {
	_, base, active := postSentWithAdmin(t)

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

// postSentWithAdmin runs `run` with an admin password until a post has
// reached 20 people (2 more have left), and returns its HTTP address and
// the 20 addresses.
func postSentWithAdmin(t *testing.T) (h *harness, base string, active []string) {
	h, base, active = startWithAdmin(t, 3, 20)
	h.addSubscribers("left", 2, store.StatusUnsubscribed)
	h.feed.set(postItem(1), postItem(2))
	h.waitFor("20 messages", 60*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 20 })
	return h, base, active
}

// startWithAdmin runs `run` with an admin password, feeds.hold_over and n
// active subscribers, until the blog's first poll has recorded post 1; it
// returns the HTTP address and the subscribers' addresses.
func startWithAdmin(t *testing.T, holdOver, n int) (h *harness, base string, active []string) {
	h = newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: holdOver})
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "secrets:\n", "secrets:\n  admin_password: "+testAdminPassword+"\n", 1))
	if err := os.WriteFile(h.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	active = h.addSubscribers("reader", n, store.StatusActive)
	h.start()
	if !strings.Contains(h.logs.String(), "admin:    /admin/ and /metrics (Prometheus), behind secrets.admin_password") {
		t.Errorf("run does not say where the admin routes are:\n%s", h.logs.String())
	}
	base = httpLine.FindStringSubmatch(h.logs.String())[1]
	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	return h, base, active
}

// adminBrowser is Chromium at phone width, scripts off, sending the admin
// password with every request.
func adminBrowser(t *testing.T) *browsertest.Browser {
	b := browsertest.New(t, browsertest.Options{NoJavaScript: true})
	b.Do("give-the-password", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders,
			network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + testAdminPassword}})
		return err
	}))
	return b
}

// TestHeldPostsApprovedInTheBrowserAreSentOnce: three new posts with
// hold_over 1 are held; on /admin/ in Chromium the therapist sends the
// first and never sends the other two. Each of 5 subscribers gets the
// first once and nothing else, also after more polls.
func TestHeldPostsApprovedInTheBrowserAreSentOnce(t *testing.T) {
	h, base, active := startWithAdmin(t, 1, 5)
	h.feed.set(postItem(1), postItem(2), postItem(3), postItem(4))
	h.waitFor("3 held posts", 20*time.Second, func() bool { return h.posts()[store.PostHeld] == 3 })

	b := adminBrowser(t)
	if code := b.Navigate("admin-with-3-held", base+"/admin/"); code != http.StatusOK {
		t.Fatalf("/admin/: %d", code)
	}
	first := b.Text("#held ~ ul li:first-child a")
	resp := b.Submit("send-the-first", chromedp.Click(chromedp.CSS("#held ~ ul li:first-child button[value=send]")))
	if resp.Status != http.StatusOK || !strings.Contains(b.Text("main"), "1 post(s) approved: they are being sent.") {
		t.Fatalf("after sending one: %d\n%s", resp.Status, b.Text("main"))
	}
	resp = b.Submit("skip-the-rest", chromedp.Click(chromedp.CSS("#held ~ form button[value=skip]")))
	if resp.Status != http.StatusOK || !strings.Contains(b.Text("main"), "2 post(s) skipped: they will never be sent.") {
		t.Fatalf("after skipping two: %d\n%s", resp.Status, b.Text("main"))
	}
	h.waitFor("5 messages", 30*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 5 })
	h.waitPolls(2)
	msgs := h.smtp.Messages()
	if len(msgs) != 5 {
		t.Fatalf("the SMTP server got %d messages, want 5", len(msgs))
	}
	to := map[string]int{}
	for _, m := range msgs {
		if subject := m.Header.Get("Subject"); !strings.Contains(subject, first) {
			t.Errorf("a message about %q, want only %q", subject, first)
		}
		to[m.To[0]]++
	}
	for _, a := range active {
		if to[a] != 1 {
			t.Errorf("%s got %d messages, want 1", a, to[a])
		}
	}
	if p := h.posts(); p[store.PostSkipped] != 2 || p[store.PostHeld] != 0 {
		t.Errorf("posts after: %v", p)
	}
}

// TestAdminPageInABrowser: the therapist opens /admin/ in Chromium at
// phone width with the admin password: the post's 20 emails sent, the
// subscribers, the feed's last poll; the tables fit or scroll within the
// page. (Without it, headless Chromium cannot show the Basic prompt and
// fails the load; the 401 is tested over plain HTTP.)
func TestAdminPageInABrowser(t *testing.T) {
	h, base, active := postSentWithAdmin(t)
	b := adminBrowser(t)
	if code := b.Navigate("admin", base+"/admin/"); code != http.StatusOK {
		t.Fatalf("/admin/ with the password: %d", code)
	}
	for sel, want := range map[string]string{
		"h1": "How the email is doing",
		"section:has(#subscribers) tbody tr:nth-child(1)": "active 20",
		"section:has(#subscribers) tbody tr:nth-child(3)": "unsubscribed 2",
		"section:has(#deliveries) tbody tr:nth-child(3)":  "sent 20",
		"section:has(#posts) tbody tr:nth-child(4)":       "sent 1",
	} {
		if got := strings.Join(strings.Fields(b.Text(sel)), " "); got != want {
			t.Errorf("%s says %q, want %q", sel, got, want)
		}
	}
	if feeds := b.Text("section:has(#feeds) tbody"); !strings.Contains(feeds, "blog") || strings.Contains(feeds, "never") {
		t.Errorf("the feeds table: %q", feeds)
	}
	if w := browsertest.Eval[int](b, "document.documentElement.scrollWidth"); w > browsertest.Width {
		t.Errorf("the page is %d px wide at %d: the tables must scroll within it", w, browsertest.Width)
	}

	// Everyone on the list, then those who left.
	if resp := b.Submit("everyone", chromedp.Click(chromedp.CSS(`a[href="/admin/subscribers"]`))); resp.Status != http.StatusOK ||
		browsertest.Eval[int](b, `document.querySelectorAll("tbody tr").length`) != 22 {
		t.Fatalf("the list: %d\n%s", resp.Status, b.Text("main"))
	}
	if resp := b.Submit("those-who-left", chromedp.Click(chromedp.CSS(`a[href="/admin/subscribers?status=unsubscribed"]`))); resp.Status != http.StatusOK ||
		browsertest.Eval[int](b, `document.querySelectorAll("tbody tr").length`) != 2 {
		t.Fatalf("the unsubscribed: %d\n%s", resp.Status, b.Text("main"))
	}
	if code := b.Navigate("back", base+"/admin/"); code != http.StatusOK {
		t.Fatalf("/admin/: %d", code)
	}

	// Someone wrote to the practice asking to be taken off the list.
	b.Do("find-someone", chromedp.SendKeys(chromedp.CSS("#email"), active[3]))
	if resp := b.Submit("found", chromedp.Click(chromedp.CSS(`form[action="/admin/person"] button`))); resp.Status != http.StatusOK ||
		!strings.Contains(b.Text("main"), "active") {
		t.Fatalf("finding %s: %d\n%s", active[3], resp.Status, b.Text("main"))
	}
	if resp := b.Submit("unsubscribed", chromedp.Click(chromedp.CSS(`form[action="/admin/person/unsubscribe"] button`))); resp.Status != http.StatusOK ||
		!strings.Contains(b.Text("main"), "Unsubscribed: they get nothing more from the list.") {
		t.Fatalf("unsubscribing %s: %d\n%s", active[3], resp.Status, b.Text("main"))
	}
	if s, err := h.db.SubscriberByEmail(t.Context(), active[3]); err != nil || s.Status != store.StatusUnsubscribed {
		t.Fatalf("%s after the admin's unsubscribe: %+v, %v", active[3], s, err)
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
