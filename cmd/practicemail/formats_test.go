package main

import (
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/store"
)

// TestFeedFormats runs the spine once per kind of feed a blog may serve: a
// baseline that sends nothing, one new post to every subscriber, then re-polls
// of the whole feed that find nothing new. The new post has a title and text
// beyond ASCII, a relative link and image, a script and an event handler.
func TestFeedFormats(t *testing.T) {
	cases := []struct {
		name   string
		format format
	}{
		{"rss", rss},
		{"atom", atom},
		{"json_feed", jsonFeed},
		{"rss_latin1", rssLatin1Refs},
		{"rss_bom", rssBOM},
		{"rss_no_guids", rssNoGUIDs},
	}
	// Sequential: every harness empties this package's Redis database.
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { testFeedFormat(t, c.format) })
	}
}

func testFeedFormat(t *testing.T, f format) {
	first := []item{postItem(1), postItem(2)}
	h := newHarness(t, harnessOptions{format: f, items: first, holdOver: 3})
	readers := h.addSubscribers("reader", 5, store.StatusActive)
	h.start()
	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 2 })
	h.waitPolls(1)
	if n := h.smtp.Count(); n != 0 {
		t.Fatalf("the first poll sent %d messages, want 0", n)
	}

	post := formatAccentedItem()
	all := append(first, post)
	h.feed.set(all...)
	h.waitFor("5 messages", 30*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 5 })
	msgs := h.smtp.Messages()
	checkMessages(t, msgs, readers, post, h.feed.URL)
	formatCheckPost(t, msgs, post, h.feed.URL)

	// Each re-poll gets the whole feed (a new ETag), not a 304, so every item's
	// identity is worked out again; items without GUIDs must keep theirs.
	fullBefore := formatFullFetches(h.feed)
	for range 2 {
		h.feed.set(all...)
		h.waitPolls(2)
	}
	if n := formatFullFetches(h.feed) - fullBefore; n < 2 {
		t.Fatalf("the re-polls read the whole feed %d times, want 2", n)
	}
	if d := cmp.Diff(map[string]int64{store.PostBaseline: 2, store.PostSent: 1}, h.posts()); d != "" {
		t.Fatalf("posts after re-polls (-want +got):\n%s", d)
	}
	if n := h.smtp.Count(); n != 5 {
		t.Fatalf("after re-polls the SMTP server has %d messages, want 5", n)
	}
}

// formatFullFetches counts the feed requests answered with the whole feed, not 304.
func formatFullFetches(fs *feedServer) int {
	requests, _, notModified := fs.counts()
	return requests - notModified
}

// formatAccentedText is a sentence of the new post beyond ASCII yet within Latin-1.
const formatAccentedText = "Être présent, ça prend du temps."

// formatAccentedItem is postItem(3) with a title beyond Latin-1 (the em dash) and
// text beyond ASCII.
func formatAccentedItem() item {
	it := postItem(3)
	it.Title = "Présence, not perfection — été"
	it.Content = "<p>" + formatAccentedText + "</p>" + it.Content
	return it
}

// formatCheckPost asserts what checkMessages leaves out: the Subject is the
// title once decoded, the text part has the title, the words and the post's
// address, and the HTML links to the post and shows its image by absolute URL.
func formatCheckPost(t *testing.T, msgs []mailtest.Message, it item, base string) {
	t.Helper()
	dec := new(mime.WordDecoder)
	for _, m := range msgs {
		subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
		if err != nil || subject != it.Title {
			t.Fatalf("Subject %q decodes to %q (%v), want %q", m.Header.Get("Subject"), subject, err, it.Title)
		}
		p := mailtest.Parse(t, m.Data)
		for _, s := range []string{it.Title, formatAccentedText, base + it.Link} {
			if !strings.Contains(p.TextPart, s) {
				t.Fatalf("text part lacks %q:\n%s", s, p.TextPart)
			}
		}
		for _, s := range []string{formatAccentedText, `href="` + base + it.Link, `src="` + base + "/images/3.jpg"} {
			if !strings.Contains(p.HTMLPart, s) {
				t.Fatalf("HTML part lacks %q:\n%s", s, p.HTMLPart)
			}
		}
	}
}

// rssLatin1Refs is RSS encoded in ISO-8859-1, as old blogs serve it, with the
// characters Latin-1 lacks written as numeric character references, as
// WordPress writes them.
func rssLatin1Refs(base string, items []item) ([]byte, string) {
	b, _ := rss(base, items)
	s := strings.Replace(string(b), `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1)
	out, err := encoding.HTMLEscapeUnsupported(charmap.ISO8859_1.NewEncoder()).String(s)
	if err != nil {
		panic(err)
	}
	return []byte(out), "application/rss+xml"
}
