package feeds

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// replaceIframe swaps an embed (a video, a map, a form) for a link to it,
// so the reader knows something was there and can open it: an email
// cannot show it. Lazy-loading plugins keep the real address in
// data-src or data-lazy-src while src says about:blank.
func (rw *rewriter) replaceIframe(parent, n *html.Node) {
	var src string
	for _, key := range []string{"data-src", "data-lazy-src", "src"} {
		if src = absoluteURL(rw.base, getAttr(n, key)); src != "" {
			break
		}
	}
	if src == "" || isTrackerURL(src) {
		parent.RemoveChild(n)
		return
	}
	href, label := embedLink(src, strings.TrimSpace(getAttr(n, "title")))
	rw.replaceWithLink(parent, n, href, label)
}

// replaceMedia swaps a <video> or <audio> player for a link to its file.
func (rw *rewriter) replaceMedia(parent, n *html.Node) {
	src := absoluteURL(rw.base, getAttr(n, "src"))
	if src == "" {
		src = absoluteURL(rw.base, getAttr(n, "data-src"))
	}
	for c := n.FirstChild; src == "" && c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.DataAtom == atom.Source {
			src = absoluteURL(rw.base, getAttr(c, "src"))
		}
	}
	if src == "" || isTrackerURL(src) {
		parent.RemoveChild(n)
		return
	}
	label := "Watch the video"
	if n.DataAtom == atom.Audio {
		label = "Listen to the audio"
	}
	rw.replaceWithLink(parent, n, src, label)
}

// replaceWithLink puts <p><a href>label</a></p> where n was, once per
// address: lazy-loading plugins repeat embeds inside <noscript>.
func (rw *rewriter) replaceWithLink(parent, n *html.Node, href, label string) {
	if !rw.linked[href] {
		rw.linked[href] = true
		a := &html.Node{Type: html.ElementNode, Data: "a", DataAtom: atom.A,
			Attr: []html.Attribute{{Key: "href", Val: href}, {Key: "rel", Val: "noopener"}}}
		a.AppendChild(&html.Node{Type: html.TextNode, Data: label})
		p := &html.Node{Type: html.ElementNode, Data: "p", DataAtom: atom.P}
		p.AppendChild(a)
		parent.InsertBefore(p, n)
	}
	parent.RemoveChild(n)
}

// embedLink turns an embed address into the page a reader would open and
// words for the link. YouTube and Vimeo players become their watch pages;
// anything else links to the embed itself.
func embedLink(src, title string) (href, label string) {
	u, _ := url.Parse(src) // src is absoluteURL's output: it parses
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	id, hasID := strings.CutPrefix(u.Path, "/embed/")
	switch {
	case (host == "youtube.com" || host == "youtube-nocookie.com" || host == "m.youtube.com") && hasID:
		href = "https://www.youtube.com/watch?v=" + url.QueryEscape(strings.Trim(id, "/"))
		if id == "videoseries" && u.Query().Get("list") != "" {
			href = "https://www.youtube.com/playlist?list=" + url.QueryEscape(u.Query().Get("list"))
		}
		return href, watchLabel(title, "YouTube")
	case host == "player.vimeo.com" && strings.HasPrefix(u.Path, "/video/"):
		href = "https://vimeo.com/" + strings.Trim(strings.TrimPrefix(u.Path, "/video/"), "/")
		if h := u.Query().Get("h"); h != "" {
			href += "/" + url.PathEscape(h) // an unlisted video's key
		}
		return href, watchLabel(title, "Vimeo")
	}
	return src, "View embedded content from " + u.Hostname()
}

// watchLabel names the video when the embed has a real title, not the
// "YouTube video player" that YouTube's embed code puts there.
func watchLabel(title, site string) string {
	if title == "" || strings.Contains(strings.ToLower(title), "video player") {
		return "Watch the video on " + site
	}
	return "Watch “" + title + "” on " + site
}
