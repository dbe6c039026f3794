package main

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var httpLine = regexp.MustCompile(`http:\s+(http://\S+)`)

// TestRunServesThePublicPages: `run` wires the sign-up form to the
// database, with the practice's name and the security headers.
func TestRunServesThePublicPages(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.start()
	m := httpLine.FindStringSubmatch(h.logs.String())
	if m == nil {
		t.Fatalf("no http line in:\n%s", h.logs.String())
	}
	base := m[1]
	res, err := http.Get(base + "/subscribe")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "Stillpoint Counseling") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET /subscribe = %d %v:\n%s", res.StatusCode, res.Header, body)
	}
	res, err = http.PostForm(base+"/subscribe", url.Values{"email": {"ann@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST /subscribe = %d", res.StatusCode)
	}
	s, err := h.db.SubscriberByEmail(t.Context(), "ann@example.com")
	if err != nil || s.Status != "pending" {
		t.Fatalf("after signing up: %+v, %v", s, err)
	}
	// The web enqueued the confirmation: it reaches the SMTP server, and
	// its link confirms.
	h.waitFor("the confirmation email", 20*time.Second, func() bool { return h.smtp.Count() == 1 })
	msg := h.smtp.Messages()[0]
	data := strings.ReplaceAll(string(msg.Data), "=\r\n", "")
	link := confirmLink.FindStringSubmatch(data)
	if link == nil || len(msg.To) != 1 || msg.To[0] != "ann@example.com" {
		t.Fatalf("confirmation to %v without a link:\n%s", msg.To, data)
	}
	res, err = http.Get(base + link[1])
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if s, _ := h.db.SubscriberByEmail(t.Context(), "ann@example.com"); res.StatusCode != 200 || s.Status != "active" {
		t.Fatalf("GET %s = %d, status %s", link[1], res.StatusCode, s.Status)
	}
}

var confirmLink = regexp.MustCompile(`https://mail\.stillpoint\.example(/confirm/[A-Za-z0-9_-]{40})`)
