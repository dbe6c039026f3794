package main

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
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
}
