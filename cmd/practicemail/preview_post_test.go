package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/store"
)

// tokenInLink is a subscriber's own token in an unsubscribe or preferences
// link.
var tokenInLink = regexp.MustCompile(`/(unsubscribe|preferences)/[A-Za-z0-9_-]{40}`)

// TestPreviewPostIsWhatASubscriberGets sends a post through the whole
// program to a real SMTP server, then previews it by its link and by its
// GUID: the preview's HTML and text are the received parts, but for the
// subscriber's tokens.
func TestPreviewPostIsWhatASubscriberGets(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: 3})
	h.addSubscribers("reader", 1, store.StatusActive)
	h.start()
	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	h.feed.set(postItem(1), crisisItem())
	h.waitFor("the post to be sent", 30*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 1 })
	h.stop()

	got := mailtest.Parse(t, h.smtp.Messages()[0].Data)
	received := map[string]string{"html": got.HTMLPart, "text": got.TextPart}
	for part, s := range received {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		if !tokenInLink.MatchString(s) {
			t.Fatalf("the received %s part has no personal link:\n%s", part, s)
		}
		received[part] = tokenInLink.ReplaceAllString(s, "/$1/"+previewToken)
	}
	sent, err := h.db.PostsInState(context.Background(), store.PostSent, 0)
	if err != nil || len(sent) != 1 {
		t.Fatalf("sent posts: %v, %v", sent, err)
	}
	post := sent[0]
	if !strings.HasPrefix(post.URL, "http") || post.GUID != "https://blog.example/?p=2" {
		t.Fatalf("post link %q, GUID %q", post.URL, post.GUID)
	}

	out := h.exec("preview", "post", post.URL)
	for _, want := range []string{"Subject: " + got.Header.Get("Subject") + "\n", "--- text ---\n" + received["text"], "--- html ---\n" + received["html"]} {
		if !strings.Contains(out, want) {
			t.Errorf("preview post lacks %.80q…", want)
		}
	}

	dir := filepath.Join(t.TempDir(), "out")
	out = h.exec("preview", "post", post.GUID, "--out", dir)
	name := "post-" + itoa(post.ID)
	if !strings.Contains(out, "wrote "+filepath.Join(dir, name+".html")) {
		t.Errorf("--out said:\n%s", out)
	}
	html, err := os.ReadFile(filepath.Join(dir, name+".html"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(received["html"], string(html)); d != "" {
		t.Errorf("preview HTML differs from the received part (-received +preview):\n%s", d)
	}
	text, err := os.ReadFile(filepath.Join(dir, name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff("Subject: "+got.Header.Get("Subject")+"\n\n"+received["text"], string(text)); d != "" {
		t.Errorf("preview text differs from the received part (-received +preview):\n%s", d)
	}
	if n := h.deliveries()[store.DeliverySent]; n != 1 || h.smtp.Count() != 1 {
		t.Errorf("after previews: %d sent, %d messages; want the one send", n, h.smtp.Count())
	}
}

// TestPreviewPostRefuses: an unknown post is named; a missing database is
// not created.
func TestPreviewPostRefuses(t *testing.T) {
	c := newCLI(t)
	_, _, err := c.run("preview", "post", "https://blog.example/nope", "--config", c.config)
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("preview post without a database: %v", err)
	}
	if _, err := os.Stat(c.dbPath); err == nil {
		t.Error("preview post created a database")
	}
	c.ok("migrate")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"https://blog.example/nope"}, `no stored post has the link or GUID "https://blog.example/nope"`},
		{[]string{}, "usage: practicemail preview post URL-or-GUID"},
		{[]string{"a", "b"}, "usage: practicemail preview post URL-or-GUID"},
	} {
		_, _, err := c.run(append([]string{"preview", "post"}, append(tt.args, "--config", c.config)...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("preview post %q: %v, want %q", tt.args, err, tt.want)
		}
	}
}
