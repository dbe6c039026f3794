package feeds

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// policy is the final sanitiser. bluemonday policies are safe for
// concurrent use once built.
var policy = newPolicy()

// newPolicy starts from bluemonday's UGC rules (no script, style, iframe,
// object, embed, form, event handlers or style attributes; http, https and
// mailto URLs only) and tightens them for email: every URL must already be
// absolute, and links carry rel="noopener" rather than nofollow.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowRelativeURLs(false)
	p.RequireNoFollowOnLinks(false)
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^noopener$`)).OnElements("a")
	p.AllowAttrs("title").OnElements("img")
	return p
}

// droppedTags are removed with everything inside them before sanitising,
// so no stray text (a form's labels, an SVG's paths) survives.
var droppedTags = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Template: true, atom.Object: true,
	atom.Embed: true, atom.Applet: true, atom.Form: true, atom.Button: true,
	atom.Input: true, atom.Select: true, atom.Textarea: true, atom.Svg: true,
	atom.Math: true, atom.Link: true, atom.Meta: true, atom.Base: true,
	atom.Audio: true, atom.Video: true, atom.Canvas: true, atom.Frameset: true,
	atom.Frame: true, atom.Head: true, atom.Title: true,
}

// rewriter holds the state of one pass over an item's HTML.
type rewriter struct {
	base     *url.URL        // the item's URL, else the feed's; may be nil
	seenImgs map[string]bool // image URLs already kept, to drop <noscript> copies
	dropped  map[string]bool // image URLs removed as trackers or pixels
	firstImg string          // the first image kept
}

// sanitizeHTML makes feed HTML safe for an email: URLs absolute, tracking
// pixels and lazy-loading placeholders gone, iframes turned into links,
// then bluemonday for everything else. The rewriter it returns knows which
// images were kept and dropped, for choosing the item's image.
func sanitizeHTML(fragment string, base *url.URL) (string, *rewriter) {
	rw := &rewriter{base: base, seenImgs: map[string]bool{}, dropped: map[string]bool{}}
	if strings.TrimSpace(fragment) == "" {
		return "", rw
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	// Scripting off: <noscript> then holds parsed elements (the real images
	// of lazy-loading plugins) rather than raw text.
	nodes, err := html.ParseFragmentWithOptions(strings.NewReader(fragment), body,
		html.ParseOptionEnableScripting(false))
	if err != nil {
		return policy.Sanitize(fragment), rw
	}
	var b strings.Builder
	for _, n := range nodes {
		body.AppendChild(n)
	}
	rw.walk(body, false)
	for n := body.FirstChild; n != nil; n = n.NextSibling {
		if err := html.Render(&b, n); err != nil {
			return policy.Sanitize(fragment), rw
		}
	}
	return strings.TrimSpace(policy.Sanitize(b.String())), rw
}

// walk rewrites n's children in place; inNoscript marks fallback copies.
func (rw *rewriter) walk(n *html.Node, inNoscript bool) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch {
		case c.Type == html.CommentNode, c.Type == html.ElementNode && droppedTags[c.DataAtom]:
			n.RemoveChild(c)
		case c.Type != html.ElementNode:
		case c.DataAtom == atom.Iframe:
			rw.replaceIframe(n, c)
		case c.DataAtom == atom.Img:
			if !rw.keepImage(c, inNoscript) {
				n.RemoveChild(c)
			}
		default:
			rw.fixURLs(c)
			rw.walk(c, inNoscript || c.DataAtom == atom.Noscript)
			switch {
			case c.DataAtom == atom.A && c.FirstChild == nil:
				n.RemoveChild(c) // a link whose only child was a tracker, or an anchor target
			case c.DataAtom == atom.Noscript:
				unwrap(n, c) // bluemonday would drop its content, real images included
			}
		}
		c = next
	}
}

// fixURLs makes the element's URL attributes absolute, removing those that
// cannot be, and marks links rel="noopener".
func (rw *rewriter) fixURLs(n *html.Node) {
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		switch strings.ToLower(a.Key) {
		case "href", "cite", "src", "poster", "action", "background", "longdesc":
			a.Val = absoluteURLOrMailto(rw.base, a.Val)
			if a.Val == "" {
				continue
			}
		case "rel":
			continue
		}
		kept = append(kept, a)
	}
	n.Attr = kept
	if n.DataAtom == atom.A && getAttr(n, "href") != "" {
		n.Attr = append(n.Attr, html.Attribute{Key: "rel", Val: "noopener"})
	}
}

// keepImage fixes an <img> and reports whether it is worth keeping: not a
// tracker, not invisible, not a placeholder, not a <noscript> duplicate.
func (rw *rewriter) keepImage(n *html.Node, inNoscript bool) bool {
	src := getAttr(n, "src")
	if lazy := lazySource(n); lazy != "" {
		src = lazy // src holds a placeholder until a script swaps it
	}
	abs := absoluteURL(rw.base, src)
	if abs == "" || (inNoscript && rw.seenImgs[abs]) {
		return false
	}
	if isPixel(n) || isTrackerURL(abs) {
		rw.dropped[abs] = true
		return false
	}
	rw.seenImgs[abs] = true
	if rw.firstImg == "" {
		rw.firstImg = abs
	}
	setAttr(n, "src", abs)
	return true
}

// lazySource finds the real image of a lazy-loading plugin.
func lazySource(n *html.Node) string {
	for _, key := range []string{"data-src", "data-lazy-src", "data-original"} {
		if v := getAttr(n, key); v != "" {
			return v
		}
	}
	return ""
}

// replaceIframe swaps an embed (a video, a map) for a link to it, so the
// reader can still find it; an email cannot show it.
func (rw *rewriter) replaceIframe(parent, n *html.Node) {
	src := absoluteURL(rw.base, getAttr(n, "src"))
	if src == "" || isTrackerURL(src) {
		parent.RemoveChild(n)
		return
	}
	u, _ := url.Parse(src)
	a := &html.Node{Type: html.ElementNode, Data: "a", DataAtom: atom.A,
		Attr: []html.Attribute{{Key: "href", Val: src}, {Key: "rel", Val: "noopener"}}}
	a.AppendChild(&html.Node{Type: html.TextNode, Data: "View embedded content from " + u.Hostname()})
	p := &html.Node{Type: html.ElementNode, Data: "p", DataAtom: atom.P}
	p.AppendChild(a)
	parent.InsertBefore(p, n)
	parent.RemoveChild(n)
}

// unwrap replaces n with its children.
func unwrap(parent, n *html.Node) {
	for c := n.FirstChild; c != nil; c = n.FirstChild {
		n.RemoveChild(c)
		parent.InsertBefore(c, n)
	}
	parent.RemoveChild(n)
}

// absoluteURLOrMailto is absoluteURL that also keeps mailto: links.
func absoluteURLOrMailto(base *url.URL, ref string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(ref)), "mailto:") {
		return strings.TrimSpace(ref)
	}
	return absoluteURL(base, ref)
}

func getAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func setAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}
