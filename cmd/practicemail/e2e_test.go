package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// TestPostsReachConfirmedSubscribersOnce is the spine end to end: feed →
// ledger → asynq → SMTP, on each SQL engine.
func TestPostsReachConfirmedSubscribersOnce(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { testSpine(t, engine) })
	}
}

func testSpine(t *testing.T, engine string) {
	h := newHarness(t, harnessOptions{engine: engine, items: []item{postItem(1), postItem(2), postItem(3)}, holdOver: 3})
	active := h.addSubscribers("active", 200, store.StatusActive)
	h.addSubscribers("pending", 5, store.StatusPending)
	h.addSubscribers("gone", 5, store.StatusUnsubscribed)
	h.start()

	// First poll: everything recorded, nothing sent.
	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 3 })
	h.waitPolls(2)
	if n := h.smtp.Count(); n != 0 {
		t.Fatalf("first poll sent %d messages, want 0", n)
	}

	// One new item: one message per confirmed subscriber.
	h.feed.set(postItem(1), postItem(2), postItem(3), postItem(4))
	h.waitFor("200 messages", 60*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 200 })
	h.waitPolls(3)
	_, condBefore, notModBefore := h.feed.counts()
	if n := h.smtp.Count(); n != 200 {
		t.Fatalf("SMTP server got %d messages, want 200", n)
	}
	checkMessages(t, h.smtp.Messages(), active, postItem(4), h.feed.URL)
	if condBefore == 0 || notModBefore == 0 {
		t.Fatalf("polls after the change sent %d conditional requests and got %d 304s; want both > 0", condBefore, notModBefore)
	}

	// The item's title edited: updated, not re-sent.
	edited := postItem(4)
	edited.Title = "When Numb Feels Safer Than Sad (revised)"
	h.feed.set(postItem(1), postItem(2), postItem(3), edited)
	h.waitFor("the edit to be stored", 20*time.Second, func() bool {
		p, err := h.db.PostsInState(context.Background(), store.PostSent, 0)
		return err == nil && len(p) == 1 && p[0].Title == edited.Title
	})
	h.waitPolls(2)
	if n := h.smtp.Count(); n != 200 {
		t.Fatalf("an edited post was sent again: %d messages, want 200", n)
	}

	// Ten items at once with hold_over 3: all held, none sent.
	items := []item{postItem(1), postItem(2), postItem(3), edited}
	for i := 5; i < 15; i++ {
		items = append(items, postItem(i))
	}
	h.feed.set(items...)
	h.waitFor("10 held posts", 20*time.Second, func() bool { return h.posts()[store.PostHeld] == 10 })
	h.waitPolls(2)
	if n := h.smtp.Count(); n != 200 {
		t.Fatalf("held posts were sent: %d messages, want 200", n)
	}

	// poll --approve releases them.
	out := h.exec("poll", "--approve")
	if !strings.Contains(out, "10 post(s) queued") {
		t.Fatalf("poll --approve said:\n%s", out)
	}
	h.waitFor("2,200 messages", 120*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 2200 })
	h.waitPolls(2)
	if n := h.smtp.Count(); n != 2200 {
		t.Fatalf("SMTP server got %d messages, want 2200", n)
	}
	if os.Getenv("PRACTICEMAIL_TEST_DUMP") != "" {
		t.Log(h.logs.String())
	}
	if d := cmp.Diff(map[string]int64{store.PostBaseline: 3, store.PostSent: 11}, h.posts()); d != "" {
		t.Fatalf("posts (-want +got):\n%s", d)
	}
}

// checkMessages asserts one message per address in want, each a proper
// marketing email for it.
func checkMessages(t *testing.T, msgs []mailtest.Message, want []string, it item, base string) {
	t.Helper()
	var got []string
	for _, m := range msgs {
		if len(m.To) != 1 {
			t.Fatalf("a message went to %d recipients: %v", len(m.To), m.To)
		}
		got = append(got, m.To[0])
	}
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("recipients (-want +got):\n%s", d)
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		p := mailtest.Parse(t, m.Data)
		h := p.Header
		if p.TextPart == "" || p.HTMLPart == "" {
			t.Fatalf("message to %s lacks a text or HTML part", m.To[0])
		}
		lu, lup := h.Get("List-Unsubscribe"), h.Get("List-Unsubscribe-Post")
		if !strings.HasPrefix(lu, "<https://mail.stillpoint.example/unsubscribe/") || lup != "List-Unsubscribe=One-Click" {
			t.Fatalf("List-Unsubscribe %q, List-Unsubscribe-Post %q", lu, lup)
		}
		if strings.Contains(strings.ToLower(p.HTMLPart), "<script") || strings.Contains(p.HTMLPart, "onclick") {
			t.Fatalf("message HTML carries script:\n%s", p.HTMLPart)
		}
		if h.Get("Subject") == "" || !strings.Contains(h.Get("To"), m.To[0]) || ids[h.Get("Message-Id")] {
			t.Fatalf("bad headers: %v", h)
		}
		ids[h.Get("Message-Id")] = true
		for _, s := range []string{it.Title, base + it.Link, base + "/about", "1200 Pearl St"} {
			if !strings.Contains(p.HTMLPart, s) && !strings.Contains(p.TextPart, s) {
				t.Fatalf("message lacks %q:\nHTML:\n%s", s, p.HTMLPart)
			}
		}
		if !strings.Contains(p.HTMLPart, fmt.Sprintf(`src="%s/images/`, base)) {
			t.Fatalf("relative image not made absolute:\n%s", p.HTMLPart)
		}
	}
}
