package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		p    store.PostProgress
		want string
	}{
		{
			store.PostProgress{PostID: 2, Title: "New consult openings", Sent: 1234, Failed: 3, ToGo: 263},
			`post 2 "New consult openings": writing the recipient list, 1500 so far: 1234 sent, 3 failed, 0 suppressed, 263 to go`,
		},
		{
			store.PostProgress{PostID: 2, Title: "New consult openings", Sent: 4990, Failed: 3, Suppressed: 2, ToGo: 5, FanOutDone: true},
			`post 2 "New consult openings": 4990 of 5000 sent, 3 failed, 2 suppressed, 5 to go`,
		},
	}
	for _, tt := range tests {
		if got := progressLine(tt.p); got != tt.want {
			t.Errorf("progressLine(%+v)\n got %s\nwant %s", tt.p, got, tt.want)
		}
	}
}

// Only a configuration that names feeds changes the feeds table, and only
// in the commands that poll. README's way to try
// the program gives `run` its feed by environment; a `status` or
// `subscribers add` run beside it, with the file alone, used to disable that
// feed, and the running scheduler stopped polling it.
func TestAConfigurationWithoutFeedsLeavesThemAlone(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}})
	h.exec("poll") // syncs the configured feed and records its post
	bare := filepath.Join(h.dir, "bare.yaml")
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg[:bytes.Index(cfg, []byte("feeds:"))]
	if err := os.WriteFile(bare, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status"},
		{"subscribers", "add", "someone@example.com", "--confirmed"},
		{"subscribers", "list"},
		{"migrate"},
		{"poll", "--approve"},
	} {
		if err := h.main().Execute(context.Background(), append(args, "--config", bare)); err != nil {
			t.Fatalf("practicemail %v: %v", args, err)
		}
		f, err := h.db.FeedByName(context.Background(), "blog")
		if err != nil {
			t.Fatal(err)
		}
		if !f.Enabled {
			t.Fatalf("practicemail %v with a configuration without feeds disabled the feed", args)
		}
	}
	if out := h.exec("status"); !strings.Contains(out, "feed blog") {
		t.Fatalf("status does not show the feed:\n%s", out)
	}
}

// Issue 7 item 4: a post whose link is javascript: (and whose guid is no
// link either) was stuck for ever while status called it sent. It is sent,
// without the "Read on the blog" button, and status says sent once it is.
func TestAPostWithoutALinkIsSentWithoutTheButton(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: 3})
	h.addSubscribers("reader", 3, store.StatusActive)
	h.start()
	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	noLink := item{GUID: "tag:blog.example,2026:no-link", Link: "javascript:alert(1)", Title: "A note without a link",
		Content: "<p>Short and sweet.</p>", Published: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	h.feed.set(postItem(1), noLink)
	h.waitFor("3 messages", 30*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 3 })
	for _, m := range h.smtp.Messages() {
		if body := string(m.Data); strings.Contains(body, "Read on the blog") || !strings.Contains(body, "Short and sweet.") {
			t.Fatalf("message to %v:\n%s", m.To, body)
		}
	}
	h.stop()
	if out := h.exec("status"); !strings.Contains(out, "0 sending, 1 sent, 0 failed") {
		t.Fatalf("status:\n%s", out)
	}
}

// Issue 7 item 11: status never said which deliveries failed or why. With
// --failures it names each: recipient, post, reply, and when, in the
// practice's time zone, labelled; --json carries the same.
func TestStatusFailuresNameEachDeliveryWithItsReplyInThePracticeTimeZone(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: 3})
	emails := h.addSubscribers("reader", 3, store.StatusActive)
	gone := emails[1]
	h.smtp.SetRcptHook(func(to string) *smtp.SMTPError {
		if to == gone {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
		}
		return nil
	})
	h.start()
	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	h.feed.set(postItem(1), postItem(2))
	h.waitFor("2 sent and 1 failed", 30*time.Second, func() bool {
		d := h.deliveries()
		return d[store.DeliverySent] == 2 && d[store.DeliveryFailed] == 1
	})
	h.stop()
	out := h.exec("status")
	for _, want := range []string{"times in America/Denver", "1 deliveries failed for good: practicemail status --failures"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out = h.exec("status", "--failures")
	line := ""
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, gone) {
			line = l
		}
	}
	title := postItem(2).Title
	for _, want := range []string{" MST ", `"` + title + `"`, "550 5.1.1"} {
		if !strings.Contains(line, want) {
			t.Errorf("status --failures: the line for %s lacks %q:\n%s", gone, want, out)
		}
	}
	var rep struct {
		TimeZone string `json:"time_zone"`
		Failures []struct {
			Recipient, Title, Reply string
			At                      time.Time
		}
	}
	if err := json.Unmarshal([]byte(h.exec("status", "--json", "--failures")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.TimeZone != "America/Denver" || len(rep.Failures) != 1 {
		t.Fatalf("status --json --failures: %+v", rep)
	}
	f := rep.Failures[0]
	if _, offset := f.At.Zone(); f.Recipient != gone || f.Title != title || !strings.Contains(f.Reply, "550") ||
		offset != -7*3600 || time.Since(f.At) > time.Hour {
		t.Fatalf("failure in JSON: %+v", f)
	}
}

// `status` is read-only: without redis.url and with no Redis running, it
// says so rather than starting a redis-server of its own.
func TestStatusStartsNoRedis(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	old := localRedis
	localRedis = "127.0.0.1:1" // nothing answers there
	defer func() { localRedis = old }()
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	noRedis := filepath.Join(h.dir, "no-redis.yaml")
	cfg = []byte(strings.Replace(string(cfg), "url: "+redistest.Commands.URL(), `url: ""`, 1))
	if err := os.WriteFile(noRedis, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	m := h.main()
	m.Stdout = &out
	if err := m.Execute(context.Background(), []string{"status", "--config", noRedis}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "queues:      unknown: redis.url is empty and no Redis answers") {
		t.Fatalf("status:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(h.dir, "redis")); err == nil {
		t.Fatal("status started a redis-server of its own")
	}
}

// Issue 7 item 4: a post that cannot be rendered is shown failed by
// status, with its reason.
func TestStatusShowsAFailedPostWithItsReason(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	h.exec("poll") // syncs the configured feed
	f, err := h.db.FeedByName(ctx, "blog")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := h.db.SavePoll(ctx, f.ID, store.PollOutcome{Next: time.Now(),
		New: []store.Post{{Key: "guid:x", Title: "Unrenderable", Hash: "h"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.FailPost(ctx, ids[0], "templates: post: boom"); err != nil {
		t.Fatal(err)
	}
	out := h.exec("status")
	for _, want := range []string{" 1 failed,", `failed:      post 1 "Unrenderable" could not be rendered (`, " MST): templates: post: boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
