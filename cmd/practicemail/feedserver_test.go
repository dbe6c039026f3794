package main

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// item is one blog post in a test feed.
type item struct {
	GUID, Link, Title, Content string
	Published                  time.Time
}

// format writes a feed document for a list of items.
type format func(base string, items []item) (body []byte, contentType string)

// feedServer is an httptest blog whose feed the test edits. It answers
// conditional requests like a real one: ETag and Last-Modified, then 304.
type feedServer struct {
	*httptest.Server
	format format

	mu          sync.Mutex
	items       []item
	version     int
	modified    time.Time
	requests    int
	conditional int // requests that carried a validator
	notModified int // 304 answers
}

func newFeedServer(t *testing.T, f format, items ...item) *feedServer {
	fs := &feedServer{format: f, items: items, version: 1, modified: time.Now().UTC().Truncate(time.Second)}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

// FeedURL is the feed's address.
func (fs *feedServer) FeedURL() string { return fs.URL + "/blog/feed" }

// set replaces the items and makes the feed look changed.
func (fs *feedServer) set(items ...item) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.items = items
	fs.version++
	fs.modified = fs.modified.Add(time.Second)
}

func (fs *feedServer) all() []item {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]item(nil), fs.items...)
}

func (fs *feedServer) counts() (requests, conditional, notModified int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests, fs.conditional, fs.notModified
}

func (fs *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/blog/feed" {
		http.NotFound(w, r)
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.requests++
	etag := fmt.Sprintf(`"v%d"`, fs.version)
	inm, ims := r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
	if inm != "" || ims != "" {
		fs.conditional++
	}
	if inm == etag {
		fs.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body, ct := fs.format(fs.URL, fs.items)
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", fs.modified.Format(http.TimeFormat))
	w.Header().Set("Content-Type", ct)
	w.Write(body)
}

// postItem is a post with a relative link and image, a script and an
// event handler for the sanitiser to remove.
func postItem(n int) item {
	return item{
		GUID:  fmt.Sprintf("https://blog.example/?p=%d", n),
		Link:  fmt.Sprintf("/posts/%d-when-numb-feels-safer", n),
		Title: fmt.Sprintf("When Numb Feels Safer Than Sad, part %d", n),
		Content: fmt.Sprintf(`<p>Part %d. Feeling again is <a href="/about">slow work</a>.</p>`+
			`<img src="/images/%d.jpg" alt="a quiet room"><script>alert(1)</script>`+
			`<p onclick="steal()">Be gentle with yourself.</p>`, n, n),
		Published: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Hour),
	}
}

func rss(base string, items []item) ([]byte, string) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Stillpoint Blog</title><link>` + base + `/blog/</link><description>Notes</description>`)
	for _, it := range items {
		fmt.Fprintf(&b, `<item><title>%s</title><link>%s</link>`, html.EscapeString(it.Title), base+it.Link)
		if it.GUID != "" {
			fmt.Fprintf(&b, `<guid isPermaLink="false">%s</guid>`, it.GUID)
		}
		fmt.Fprintf(&b, `<dc:creator>Dr. Rowan Ellis</dc:creator><pubDate>%s</pubDate><content:encoded><![CDATA[%s]]></content:encoded></item>`,
			it.Published.Format(time.RFC1123Z), it.Content)
	}
	b.WriteString(`</channel></rss>`)
	return []byte(b.String()), "application/rss+xml; charset=utf-8"
}

// rssNoGUIDs is RSS whose items have links but no GUIDs.
func rssNoGUIDs(base string, items []item) ([]byte, string) {
	stripped := make([]item, len(items))
	for i, it := range items {
		it.GUID = ""
		stripped[i] = it
	}
	return rss(base, stripped)
}

// rssBOM starts with a byte-order mark and blank lines before the declaration.
func rssBOM(base string, items []item) ([]byte, string) {
	b, ct := rss(base, items)
	return append([]byte("\ufeff\n\n  \n"), b...), ct
}

// rssLatin1 is RSS really encoded in ISO-8859-1, as old blogs serve it.
func rssLatin1(base string, items []item) ([]byte, string) {
	b, _ := rss(base, items)
	s := strings.Replace(string(b), `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1)
	out, err := charmap.ISO8859_1.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return []byte(out), "application/rss+xml"
}

// atom puts relative links against xml:base, as Hugo and Jekyll feeds do.
func atom(base string, items []item) ([]byte, string) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="` + base + `/"><title>Stillpoint Blog</title><id>urn:stillpoint</id>
<updated>2026-11-01T09:00:00Z</updated><link href="` + base + `/blog/"/>`)
	for _, it := range items {
		fmt.Fprintf(&b, `<entry><title>%s</title><link href="%s"/><id>%s</id><updated>%s</updated>
<author><name>Dr. Rowan Ellis</name></author><content type="html">%s</content></entry>`,
			html.EscapeString(it.Title), strings.TrimPrefix(it.Link, "/"), it.GUID, it.Published.Format(time.RFC3339),
			html.EscapeString(it.Content))
	}
	b.WriteString(`</feed>`)
	return []byte(b.String()), "application/atom+xml"
}

func jsonFeed(base string, items []item) ([]byte, string) {
	type entry struct {
		ID          string `json:"id"`
		URL         string `json:"url"`
		Title       string `json:"title"`
		ContentHTML string `json:"content_html"`
		Published   string `json:"date_published"`
	}
	doc := map[string]any{"version": "https://jsonfeed.org/version/1.1", "title": "Stillpoint Blog", "home_page_url": base + "/blog/"}
	var entries []entry
	for _, it := range items {
		entries = append(entries, entry{it.GUID, base + it.Link, it.Title, it.Content, it.Published.Format(time.RFC3339)})
	}
	doc["items"] = entries
	b, _ := json.Marshal(doc)
	return b, "application/feed+json"
}
