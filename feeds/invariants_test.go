package feeds

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

var (
	htmlTag      = regexp.MustCompile(`(?i)<(/?(p|br|img|a|div|span|em|strong|b|i|figure|ul|ol|li|h[1-6]|script|style)\b|!--|!\[CDATA)`)
	bannedInHTML = []string{"<script", "<style", "<iframe", "<video", "<audio", "<picture", "<source", "<noscript",
		"<svg", "<form", " style=", " class=", " srcset=", " data-", " loading=", " onload=", " onerror=",
		"javascript:", "xhtml:"}
)

// checkItemInvariants checks what every item of every feed must satisfy,
// whatever the platform: plain titles and summaries without leftover
// entities, absolute links and images, a usable identity, a plausible or
// absent date, and content that is sanitised and free of tracking pixels.
func checkItemInvariants(t *testing.T, it Item, wantContent bool) {
	t.Helper()
	if !strings.HasPrefix(it.Key, "guid:") && !strings.HasPrefix(it.Key, "url:") && !strings.HasPrefix(it.Key, "hash:") ||
		len(it.Key) <= len("url:") {
		t.Errorf("item %q: not a usable key", it.Key)
	}
	for field, s := range map[string]string{"title": it.Title, "summary": it.Summary, "author": it.Author} {
		if htmlTag.MatchString(s) || leftoverEntity.MatchString(s) || strings.ContainsAny(s, "\n\t") {
			t.Errorf("item %q: %s %q is not plain text", it.Key, field, s)
		}
	}
	for field, u := range map[string]string{"URL": it.URL, "ImageURL": it.ImageURL} {
		if u != "" && !isHTTPURL(u) {
			t.Errorf("item %q: %s %q is not an absolute http(s) URL", it.Key, field, u)
		}
	}
	if it.ImageURL != "" && (isTrackerURL(it.ImageURL) || strings.Contains(it.ImageURL, "/emoji/")) {
		t.Errorf("item %q: image %q is a tracker or an emoji", it.Key, it.ImageURL)
	}
	if !it.Published.IsZero() && (!plausibleTime(it.Published) || it.Published.Location() != time.UTC) {
		t.Errorf("item %q: published %v is not a plausible UTC time", it.Key, it.Published)
	}
	if wantContent && strings.TrimSpace(it.Content) == "" {
		t.Errorf("item %q: empty content", it.Key)
	}
	if wantContent && it.Summary == "" {
		t.Errorf("item %q: empty summary", it.Key)
	}
	for _, bad := range bannedInHTML {
		if strings.Contains(it.Content, bad) {
			t.Errorf("item %q: content keeps %q:\n%s", it.Key, bad, it.Content)
		}
	}
	checkContentURLs(t, it)
}

// checkContentURLs parses the content and checks every link and image:
// absolute (or a mailto:, tel: or sms: link), and no image that is a tracker or a pixel.
func checkContentURLs(t *testing.T, it Item) {
	t.Helper()
	nodes, err := html.ParseFragment(strings.NewReader(it.Content), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		t.Fatalf("item %q: content does not parse: %v", it.Key, err)
	}
	var visit func(*html.Node)
	visit = func(n *html.Node) {
		for _, a := range n.Attr {
			if (a.Key == "href" || a.Key == "src" || a.Key == "cite") && !isHTTPURL(a.Val) && !(a.Key == "href" && dialLink.MatchString(a.Val)) {
				t.Errorf("item %q: <%s %s=%q> is not absolute", it.Key, n.Data, a.Key, a.Val)
			}
		}
		if n.Type == html.ElementNode && n.Data == "img" && (isPixel(n) || isTrackerURL(getAttr(n, "src"))) {
			t.Errorf("item %q: content keeps the pixel %q", it.Key, getAttr(n, "src"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	for _, n := range nodes {
		visit(n)
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// TestParseAllFixturesInvariants holds every feed fixture, old and new, to
// the same invariants as the platform fixtures.
func TestParseAllFixturesInvariants(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		t.Fatal(err)
	}
	parsed := 0
	for _, name := range names {
		if info, err := os.Stat(name); err != nil || info.IsDir() {
			continue
		}
		base := filepath.Base(name)
		f, err := Parse(readFixture(t, base), "https://blog.example.com/feed/")
		if err != nil {
			continue // the broken and non-feed fixtures have their own tests
		}
		parsed++
		t.Run(base, func(t *testing.T) {
			for _, it := range f.Items {
				checkItemInvariants(t, it, false)
			}
		})
	}
	if parsed < 25 {
		t.Errorf("only %d fixtures parsed", parsed)
	}
}
