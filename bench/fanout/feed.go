package main

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The practice, as the config file and the baseline's messages both say it.
const (
	practiceName     = "Stillpoint Counseling"
	practiceBaseURL  = "https://mail.stillpoint.example"
	practiceTimeZone = "America/Denver"
	practiceAddress  = "1200 Pearl St, Suite 4, Boulder, CO 80302"
	practiceFrom     = "Stillpoint Counseling <hello@stillpoint.example>"
	practiceReplyTo  = "hello@stillpoint.example"
	practiceEnvelope = "hello@stillpoint.example" // the envelope sender practicemail uses: From's address
	linkKey          = "bench-link-key-0123456789abcdef"
	postAuthor       = "Dr. Rowan Ellis"
)

// Subscriber i is subscriberPrefix+i@subscriberDomain, named "Person i".
const (
	subscriberPrefix = "person"
	subscriberDomain = "example.com"
)

func subscriberEmail(i int) string {
	return subscriberPrefix + strconv.Itoa(i) + "@" + subscriberDomain
}
func subscriberName(i int) string { return "Person " + strconv.Itoa(i) }

// post is one blog item.
type post struct {
	guid, link, title, content string
	published                  time.Time
}

// paragraphs is a post of ordinary length (about 4 KB of HTML): the size of
// the message decides much of the cost of sending it.
var paragraphs = []string{
	"Most of us know the evening pattern: the day finally goes quiet, and the mind gets loud. Worries that waited politely all afternoon arrive at once, and sleep, which cannot be forced, moves further away the harder we chase it.",
	"Anxiety and sleep feed each other. A short night leaves the nervous system more reactive the next day, and a more reactive day makes the next night harder. The good news is that the loop can be loosened from either end, and small changes add up.",
	"<strong>Keep a steady wake-up time.</strong> It sounds backwards, but the most reliable lever on sleep is the morning, not the evening. Getting up at the same time, even after a bad night, builds the sleep pressure that carries you through the next one.",
	"<strong>Give worry an appointment.</strong> Ten minutes in the late afternoon, pen and paper, writing down what is on your mind and one next step for each item. When the thoughts come back at night you can tell them, honestly, that they already have a time.",
	"<strong>Make the bed a place for sleep.</strong> If you have been awake and frustrated for what feels like twenty minutes, get up, keep the lights low, and do something dull until you feel sleepy. The bed learns again that it is where sleep happens.",
	"<strong>Lower the stakes.</strong> One poor night is uncomfortable, not dangerous. Much of the suffering of insomnia comes from the fear of what tomorrow will be like; treating a bad night as survivable takes a surprising amount of that fear away.",
	"<strong>Breathe out longer than you breathe in.</strong> Four counts in, six or seven out, for a few minutes. A longer exhale is one of the few direct ways we have to tell the body that it is safe to stand down.",
	"None of these is a cure on its own, and if sleep has been hard for months it is worth talking it through with someone. If you would like to explore this together, our therapists work with sleep and anxiety every week.",
}

func newPost() post {
	var b strings.Builder
	b.WriteString(`<p><img src="https://stillpoint.example/images/evening.jpg" alt="a lamp by a window at dusk"></p>`)
	for _, p := range paragraphs {
		b.WriteString("<p>" + p + "</p>\n")
	}
	return post{
		guid: "https://stillpoint.example/?p=2", link: "https://stillpoint.example/blog/sleep-and-anxiety",
		title: "Sleep and Anxiety: Five Small Changes", content: b.String(),
		published: time.Now().UTC().Truncate(time.Second),
	}
}

// blog serves an RSS feed: first one old post, then, once published, the new
// one too. It answers If-None-Match with 304, as a real blog does.
type blog struct {
	*httptest.Server
	mu        sync.Mutex
	items     []post
	version   int
	published time.Time // when the new post first went out in a response
}

func newBlog() *blog {
	old := post{guid: "https://stillpoint.example/?p=1", link: "https://stillpoint.example/blog/welcome",
		title: "Welcome to Our Blog", content: "<p>Notes from our practice.</p>",
		published: time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)}
	b := &blog{items: []post{old}, version: 1}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	return b
}

// FeedURL is the feed's address.
func (b *blog) FeedURL() string { return b.URL + "/feed/" }

// publish adds the new post.
func (b *blog) publish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items = append([]post{newPost()}, b.items...)
	b.version++
}

// firstServed is when a response first carried the new post (zero if none has).
func (b *blog) firstServed() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.published
}

func (b *blog) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	etag := `"v` + strconv.Itoa(b.version) + `"`
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if len(b.items) > 1 && b.published.IsZero() {
		b.published = time.Now()
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Write(rss(b.items))
}

func rss(items []post) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Stillpoint Blog</title><link>https://stillpoint.example/blog/</link><description>Notes</description>`)
	for _, it := range items {
		fmt.Fprintf(&b, `<item><title>%s</title><link>%s</link><guid isPermaLink="false">%s</guid>`,
			html.EscapeString(it.title), it.link, it.guid)
		fmt.Fprintf(&b, `<dc:creator>%s</dc:creator><pubDate>%s</pubDate><content:encoded><![CDATA[%s]]></content:encoded></item>`,
			postAuthor, it.published.Format(time.RFC1123Z), it.content)
	}
	b.WriteString(`</channel></rss>`)
	return []byte(b.String())
}
