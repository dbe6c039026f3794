package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// brokenConfig writes a copy of h's configuration whose SMTP needs
// STARTTLS, which the test server does not offer, and whose feed is gone.
func brokenConfig(t *testing.T, h *harness) string {
	t.Helper()
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(cfg), "tls: none", "tls: mandatory", 1)
	s = strings.Replace(s, "url: "+h.feed.FeedURL(), "url: "+h.feed.FeedURL()+"-gone", 1)
	path := filepath.Join(h.dir, "broken.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Issue 7 item 12: nothing checked SMTP before the first post.
// `practicemail check` prints one labelled line per check, says what
// failed, exits non-zero if anything did, and sends nothing.
func TestCheckPrintsOneLinePerCheckAndSaysWhatFailed(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: 3})
	out := h.exec("check")
	for _, want := range []string{
		"database: ok: sqlite ",
		"redis: ok: ",
		"smtp: ok: connected to " + strings.TrimPrefix(h.smtp.URL, "smtp://") + ", MAIL FROM:<hello@stillpoint.example> accepted (nothing sent)",
		"feed blog: ok: 1 items",
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}
	var buf bytes.Buffer
	m := h.main()
	m.Stdout = &buf
	err := m.Execute(context.Background(), []string{"check", "--config", brokenConfig(t, h)})
	if err == nil || err.Error() != "2 of 4 checks failed" {
		t.Fatalf("check with a broken configuration: %v\n%s", err, buf.String())
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"database: ok: ", "redis: ok: ",
		"smtp: failed: TLS failed: STARTTLS mode set to: \"TLSMandatory\", but target host does not support STARTTLS", "feed blog: failed: "}
	if len(lines) != len(want) {
		t.Fatalf("check printed %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d is %q, want it to start %q", i+1, lines[i], w)
		}
	}
	if !strings.Contains(lines[3], "404") {
		t.Errorf("the feed's line does not say it was not found: %q", lines[3])
	}
	if n := h.smtp.Count(); n != 0 {
		t.Fatalf("check sent %d messages", n)
	}
}

// `run` runs the same checks at start and logs each failure as a warning,
// labelled with what failed; it starts all the same.
func TestRunWarnsOfFailedChecksAndStartsAnyway(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: 3})
	h.config = brokenConfig(t, h)
	h.start()
	h.waitFor("the smtp and feed warnings", 20*time.Second, func() bool {
		logs := h.logs.String()
		return strings.Contains(logs, `level=WARN msg=check_failed check=smtp error="TLS failed: STARTTLS mode set to`) &&
			strings.Contains(logs, `level=WARN msg=check_failed check="feed blog"`)
	})
	for _, ok := range []string{"check=database", "check=redis"} {
		if strings.Contains(h.logs.String(), ok) {
			t.Errorf("a warning for %s, which is fine:\n%s", ok, h.logs.String())
		}
	}
}
