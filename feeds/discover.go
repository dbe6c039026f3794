package feeds

import (
	"bytes"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// feedTypes are the <link type> values that advertise a feed.
var feedTypes = map[string]bool{
	"application/rss+xml":   true,
	"application/atom+xml":  true,
	"application/feed+json": true,
	"application/json":      true,
}

// feedLinks returns the absolute feed URLs an HTML page advertises with
// <link rel="alternate" type="application/rss+xml" href="…">, in page order.
func feedLinks(page []byte, baseURL string) []string {
	base, _ := url.Parse(baseURL)
	if base != nil && !base.IsAbs() {
		base = nil
	}
	var links []string
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return links
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if tok.Data == "body" {
				return links
			}
			if tok.Data != "link" {
				continue
			}
			n := &html.Node{Attr: tok.Attr}
			rel := strings.Fields(strings.ToLower(getAttr(n, "rel")))
			typ := strings.ToLower(strings.TrimSpace(getAttr(n, "type")))
			if slices.Contains(rel, "alternate") && feedTypes[typ] {
				if u := absoluteURL(base, getAttr(n, "href")); u != "" {
					links = append(links, u)
				}
			}
		}
	}
}
