package mail

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

// sendOne sends one post-like message, with a List-Id, through a pool
// opened with o to a real SMTP server, and returns what the server got.
func sendOne(t *testing.T, o Options) mailtest.Message {
	t.Helper()
	srv := mailtest.NewServer(t)
	o.URL, o.TLS, o.Connections, o.Timeout = srv.URL, TLSNone, 1, 10*time.Second
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := testContent()
	c.Headers["List-Id"] = ListID("Stillpoint Counseling posts", "posts", "https://mail.stillpoint.example")
	p, err := Prepare(c, []string{phUnsub, phPrefs})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	r := recipient(1)
	if err := s.Send(context.Background(), "hello@stillpoint.example", r.Address, p, r); err != nil {
		t.Fatalf("Send: %v", err)
	}
	return srv.Messages()[0]
}

// TestPoolSendsFromReturnPathWhenSet: with smtp.return_path set, bounces
// go to it (MAIL FROM), while the From readers see stays the practice's.
func TestPoolSendsFromReturnPathWhenSet(t *testing.T) {
	got := sendOne(t, Options{ReturnPath: "bounces@stillpoint.example"})
	if got.From != "bounces@stillpoint.example" {
		t.Errorf("MAIL FROM = %q, want the return path", got.From)
	}
	if from := got.Header.Get("From"); from != `"Stillpoint Counseling" <hello@stillpoint.example>` {
		t.Errorf("From = %q, want the practice's", from)
	}
	if got := sendOne(t, Options{}).From; got != "hello@stillpoint.example" {
		t.Errorf("without a return path, MAIL FROM = %q, want the from given to Send", got)
	}
}

// TestMessageDoesNotAdvertiseTheMailer: go-mail adds "User-Agent" and
// "X-Mailer: go-mail v…" unless told not to.
func TestMessageDoesNotAdvertiseTheMailer(t *testing.T) {
	got := sendOne(t, Options{})
	for _, h := range []string{"User-Agent", "X-Mailer"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("%s: %s", h, v)
		}
	}
	if bytes.Contains(bytes.ToLower(got.Data), []byte("go-mail")) {
		t.Errorf("the message names go-mail")
	}
}

// TestMessageCarriesListId: the List-Id a post carries arrives intact.
func TestMessageCarriesListId(t *testing.T) {
	got := sendOne(t, Options{})
	if id := got.Header.Get("List-Id"); id != `"Stillpoint Counseling posts" <posts.mail.stillpoint.example>` {
		t.Errorf("List-Id = %q", id)
	}
}

func TestListID(t *testing.T) {
	tests := []struct{ description, list, baseURL, want string }{
		{"Stillpoint Counseling posts", "posts", "https://mail.stillpoint.example", `"Stillpoint Counseling posts" <posts.mail.stillpoint.example>`},
		{`The "Quiet" Room\ posts`, "posts", "https://Quiet.Example:8443/base/", `"The \"Quiet\" Room\\ posts" <posts.quiet.example>`},
		{"Café Thérapie posts", "posts", "https://café.example", "=?utf-8?q?Caf=C3=A9_Th=C3=A9rapie_posts?= <posts.xn--caf-dma.example>"},
		{"Dev\r\nposts", "posts", "http://[::1]:8080", `"Dev posts" <posts.--1>`},
		{"", "news", "http://localhost:8080", "<news.localhost>"},
		{"No host", "posts", "not a url", ""},
	}
	for _, tt := range tests {
		if got := ListID(tt.description, tt.list, tt.baseURL); got != tt.want {
			t.Errorf("ListID(%q, %q, %q) = %q, want %q", tt.description, tt.list, tt.baseURL, got, tt.want)
		}
	}
	if id := ListID("Café Thérapie posts", "posts", "https://x.example"); strings.ContainsFunc(id, func(r rune) bool { return r > '~' }) {
		t.Errorf("ListID = %q is not ASCII", id)
	}
}

// TestOpenRefusesBadReturnPath: a return path that could inject SMTP
// commands is refused before anything is sent.
func TestOpenRefusesBadReturnPath(t *testing.T) {
	_, err := Open(context.Background(), Options{URL: "smtp://127.0.0.1:2525", TLS: TLSNone,
		ReturnPath: "bounces@stillpoint.example>\r\nRCPT TO:<x@example.com"})
	if err == nil || !strings.Contains(err.Error(), "return_path") {
		t.Errorf("Open = %v, want the return path refused", err)
	}
}
