package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/store"
)

// crisisItem is a WordPress post with a crisis note to call or text 988, a
// figure, and the line WordPress SEO plugins append to every post.
func crisisItem() item {
	it := postItem(2)
	it.Content = `<p>Some weeks are heavier than others.</p>` +
		`<figure><img src="/images/lake.jpg" alt="A still lake"><figcaption>The lake in March</figcaption></figure>` +
		`<p>If you are in crisis, call or text <a href="tel:988">988</a>, or text HOME to <a href="sms:741741">741741</a>.</p>` +
		`<p>The post <a rel="nofollow" href="/posts/2">Heavier weeks</a> appeared first on <a rel="nofollow" href="/">Stillpoint Blog</a>.</p>`
	return it
}

// TestPostEmailOnTheWire runs a post from an httptest blog to a real SMTP
// server and reads what arrived: bounces go to smtp.return_path while the
// From is the practice's; the message has a List-Id and does not name the
// library that wrote it; the crisis note's links still dial; WordPress's
// "appeared first on" line is gone; the figure has no side margins; and
// both parts say why the reader gets it.
func TestPostEmailOnTheWire(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: 3})
	setReturnPath(t, h, "bounces@stillpoint.example")
	h.addSubscribers("reader", 1, store.StatusActive)
	h.start()
	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	h.feed.set(postItem(1), crisisItem())
	h.waitFor("the post to be sent", 30*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 1 })

	m := h.smtp.Messages()[0]
	p := mailtest.Parse(t, m.Data)
	if m.From != "bounces@stillpoint.example" {
		t.Errorf("MAIL FROM = %q, want smtp.return_path", m.From)
	}
	if from := p.Header.Get("From"); !strings.Contains(from, "<hello@stillpoint.example>") {
		t.Errorf("From = %q, want practice.from", from)
	}
	if id := p.Header.Get("List-Id"); id != `"Stillpoint Counseling posts" <posts.mail.stillpoint.example>` {
		t.Errorf("List-Id = %q", id)
	}
	for _, name := range []string{"X-Mailer", "User-Agent"} {
		if v := p.Header.Get(name); v != "" {
			t.Errorf("%s: %s", name, v)
		}
	}
	for _, want := range []string{`href="tel:988"`, `href="sms:741741"`, `<figure style="margin:0 0 16px 0">`} {
		if !strings.Contains(p.HTMLPart, want) {
			t.Errorf("HTML part lacks %s", want)
		}
	}
	const why = "You're getting this because you subscribed to posts from Stillpoint Counseling at https://mail.stillpoint.example."
	for part, s := range map[string]string{"HTML": strings.ReplaceAll(p.HTMLPart, "&#39;", "'"), "text": p.TextPart} {
		if !strings.Contains(strings.Join(strings.Fields(s), " "), why) {
			t.Errorf("%s part does not say why the reader gets it", part)
		}
		if strings.Contains(s, "appeared first on") {
			t.Errorf("%s part keeps WordPress's \"appeared first on\" line", part)
		}
	}
}

// setReturnPath adds smtp.return_path to the harness's configuration.
func setReturnPath(t *testing.T, h *harness, addr string) {
	t.Helper()
	b, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(b), "\nsmtp:\n", "\nsmtp:\n  return_path: "+addr+"\n", 1)
	if err := os.WriteFile(h.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}
