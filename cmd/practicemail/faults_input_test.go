package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/store"
)

// testBadConfig: a configuration with several mistakes is refused before
// anything is touched, with every mistake named.
func testBadConfig(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "never.db")
	path := filepath.Join(dir, "bad.yaml")
	yaml := fmt.Sprintf(`practice:
  name: Stillpoint Counseling
  base_url: https://mail.stillpoint.example
  from: "Stillpoint Counseling <hello@stillpoint.example>"
  colour: teal
database:
  url: sqlite:%s
smtp:
  url: smtp://127.0.0.1:2525
  tls: sometimes
secrets:
  link_key: test-link-key-0123456789abcdef
feeds:
  - name: blog
    url: stillpoint.example/feed
`, dbPath)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut logtest.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Env: []string{}}
	err := m.Execute(t.Context(), []string{"status", "--config", path})
	if err == nil {
		t.Fatalf("status with a bad configuration succeeded:\n%s", out.String())
	}
	t.Logf("status said:\n%v", err)
	lines := strings.Split(err.Error(), "\n")
	for _, key := range []string{"practice.colour", "smtp.tls", "feeds[0].url"} {
		if !faultHasLine(lines, key+": ") {
			t.Errorf("the error has no line for %s:\n%v", key, err)
		}
	}
	if !strings.Contains(lines[0], path) {
		t.Errorf("the error's first line %q does not name the file %s", lines[0], path)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused configuration created its database (stat: %v)", err)
	}
	if out.String() != "" {
		t.Errorf("status printed a report for a refused configuration:\n%s", out.String())
	}
}

// faultHasLine reports whether a line, less its indentation, starts with prefix.
func faultHasLine(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return true
		}
	}
	return false
}

// testUnreadableFeed: a feed that cannot be read makes `poll` say why, in one
// line, and `status` show it failing; nothing is sent, and the poll after the
// feed recovers finds the post that came out meanwhile.
func testUnreadableFeed(t *testing.T) {
	ff := newFaultyFeed(t, postItem(1), postItem(2))
	h := newHarness(t, harnessOptions{holdOver: 3,
		extra: fmt.Sprintf("  - name: clinic\n    url: %s\n    every: 1s\n    hold_over: 3\n", ff.URL())})
	readers := h.addSubscribers("reader", 3, store.StatusActive)
	if out := h.exec("poll", "--feed", "clinic"); !strings.Contains(out, "first poll: 2 items recorded") {
		t.Fatalf("first poll said:\n%s", out)
	}
	post := postItem(3)
	faults := []struct {
		apply func()
		want  string
	}{
		{func() { ff.set(faultFeedNotFound) }, "server answered 404 Not Found"},
		{func() { ff.set(faultFeedHTMLPage) }, "got an HTML page"},
		{func() { ff.set(faultFeedTruncated, postItem(1), postItem(2), post) }, "cut short"},
		{ff.stop, "connection refused"},
	}
	for i, f := range faults {
		f.apply()
		out, _, err := h.run(h.config, "poll", "--feed", "clinic")
		if err == nil || !strings.HasPrefix(err.Error(), "feed clinic could not be polled: ") {
			t.Fatalf("poll of a failing feed: %v; want it to fail naming the feed", err)
		}
		line, _, _ := strings.Cut(out, "\n")
		t.Logf("poll: %s", line)
		if !strings.HasPrefix(line, "clinic: feed "+ff.URL()+": ") || !strings.Contains(line, f.want) {
			t.Fatalf("poll said:\n%s\nwant a first line on the feed with %q", out, f.want)
		}
		status := h.exec("status")
		want := fmt.Sprintf("feed clinic (%s): FAILING (%d in a row): %s\n", ff.URL(), i+1, strings.TrimPrefix(line, "clinic: "))
		if !strings.Contains(status, want) {
			t.Fatalf("status said:\n%s\nwant the line:\n%s", status, want)
		}
	}
	if d := cmp.Diff(map[string]int64{store.PostBaseline: 2}, h.posts()); d != "" {
		t.Fatalf("posts while the feed was broken (-want +got):\n%s", d)
	}

	ff.start()
	ff.set(faultFeedOK, postItem(1), postItem(2), post)
	if out := h.exec("poll", "--feed", "clinic"); !strings.Contains(out, "new, sending: "+post.Title) {
		t.Fatalf("poll after the feed recovered said:\n%s", out)
	}
	if status := h.exec("status"); !strings.Contains(status, fmt.Sprintf("feed clinic (%s): ok at ", ff.URL())) {
		t.Fatalf("status after the feed recovered said:\n%s", status)
	}
	if n := h.smtp.Count(); n != 0 {
		t.Fatalf("%d messages went out before the worker ran", n)
	}
	h.start()
	h.waitFor("3 messages", 30*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 3 })
	checkMessages(t, h.smtp.Messages(), readers, post, "http://"+ff.addr)
}

// testBadCSV: an import with bad rows imports the good ones and lists each bad
// one with its line and reason.
func testBadCSV(t *testing.T) {
	h := newHarness(t, harnessOptions{holdOver: 3})
	csv := "email,name\n" +
		"ada@example.com,Ada Lovelace\n" + // line 2
		"not-an-email,Bob\n" + // 3
		",No Address\n" + // 4
		"grace@example.com,Grace Hopper\n" + // 5
		"ADA@example.com,Ada again\n" + // 6
		"carol@example,Carol\n" + // 7
		"dan@example.com,Dan\n" // 8
	path := filepath.Join(h.dir, "bad.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out := h.exec("subscribers", "import", path, "--confirmed")
	t.Logf("import said:\n%s", out)
	if !strings.HasPrefix(out, "added 3, updated 0, skipped 4:\n") {
		t.Fatalf("import summary:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	for _, bad := range []struct {
		line   int
		reason string
	}{{3, "invalid email address"}, {4, "no email address"}, {6, "duplicate of line 2"}, {7, "invalid email address"}} {
		prefix := fmt.Sprintf("line %d: ", bad.line)
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(strings.TrimSpace(l), prefix) && strings.Contains(l, bad.reason)
		}
		if !found {
			t.Errorf("import does not report line %d as %q:\n%s", bad.line, bad.reason, out)
		}
	}
	var listed []string
	for _, l := range strings.Split(strings.TrimSpace(h.exec("subscribers", "list")), "\n") {
		if f := strings.Fields(l); len(f) >= 4 && f[0] != "ID" {
			listed = append(listed, strings.Join(f[1:4], " "))
		}
	}
	want := []string{"ada@example.com active posts", "grace@example.com active posts", "dan@example.com active posts"}
	if d := cmp.Diff(want, listed); d != "" {
		t.Fatalf("subscribers list (-want +got):\n%s", d)
	}
	if out := h.exec("subscribers", "list"); !strings.HasPrefix(out, "ID ") {
		t.Errorf("subscribers list has no header line:\n%s", out)
	}
	if out := h.exec("subscribers", "list", "--status", "bounced"); out != "no subscribers with status bounced\n" {
		t.Errorf("an empty list says %q", out)
	}
}
