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
// absolute, and links carry rel="noopener" rather than nofollow. It also
// lets tel: and sms: links through: a crisis note's "call or text 988" must
// stay a link a phone can dial.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("tel", "sms")
	p.AllowRelativeURLs(false)
	p.RequireNoFollowOnLinks(false)
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^noopener$`)).OnElements("a")
	// Any alt text: UGCPolicy's pattern drops one with a colon or a
	// question mark, and the alt is what a reader sees when images are off.
	// bluemonday escapes attribute values, so free text is safe.
	p.AllowAttrs("alt", "title").OnElements("img")
	return p
}

// droppedTags are removed with everything inside them before sanitising,
// so no stray text (a form's labels, an SVG's paths) survives.
var droppedTags = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Template: true, atom.Object: true,
	atom.Embed: true, atom.Applet: true, atom.Form: true, atom.Button: true,
	atom.Input: true, atom.Select: true, atom.Textarea: true, atom.Svg: true,
	atom.Math: true, atom.Link: true, atom.Meta: true, atom.Base: true,
	atom.Canvas: true, atom.Frameset: true, atom.Frame: true, atom.Head: true,
	atom.Title: true, atom.Track: true,
}

// rewriter holds the state of one pass over an item's HTML.
type rewriter struct {
	base         *url.URL        // the item's URL, else the feed's; may be nil
	seenImgs     map[string]bool // image URLs kept outside <noscript>
	noscriptImgs map[string]bool // image URLs kept from inside <noscript>
	dropped      map[string]bool // image URLs removed as trackers or pixels
	linked       map[string]bool // embeds and media already turned into links
	firstImg     string          // the first image kept
	pre          int             // depth of <pre>, where whitespace matters
}

// sanitizeHTML makes feed HTML safe for an email: URLs absolute, tracking
// pixels, emoji images and lazy-loading placeholders gone, embeds, videos
// and audio turned into links, then bluemonday for everything else. The
// rewriter it returns knows which images were kept and dropped, for
// choosing the item's image.
func sanitizeHTML(fragment string, base *url.URL) (string, *rewriter) {
	return sanitizeWith(fragment, base, dropAppearedFirst)
}

// SanitizeHTML makes HTML written for an email (a campaign's body) safe by
// the rules feed content follows: no script, style, form, SVG, <base> or
// event handler; no tracking pixel or data: image; embeds, videos and audio
// as links; only absolute http and https URLs (and mailto:, tel:, sms:
// links), so a relative URL, which has no base here, is dropped. Only the
// tidying aimed at blogging platforms' feeds (WordPress's "appeared first
// on" line) is left out.
func SanitizeHTML(fragment string) string {
	s, _ := sanitizeWith(fragment, nil, nil)
	return s
}

// sanitizeWith is sanitizeHTML with tidy, when not nil, applied to the
// parsed fragment before it is sanitised.
func sanitizeWith(fragment string, base *url.URL, tidy func(body *html.Node)) (string, *rewriter) {
	rw := &rewriter{base: base, seenImgs: map[string]bool{}, noscriptImgs: map[string]bool{},
		dropped: map[string]bool{}, linked: map[string]bool{}}
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
	if tidy != nil {
		tidy(body)
	}
	for n := body.FirstChild; n != nil; n = n.NextSibling {
		if err := html.Render(&b, n); err != nil {
			return policy.Sanitize(fragment), rw
		}
	}
	return strings.TrimSpace(policy.Sanitize(b.String())), rw
}

// appearedFirst matches the line WordPress SEO plugins (Yoast) append to
// every post in a feed, "The post <a>Title</a> appeared first on <a>Blog</a>.",
// which says nothing to a subscriber.
var appearedFirst = regexp.MustCompile(`^The post .+ appeared first on .+$`)

// dropAppearedFirst removes that line when it is the content's last
// paragraph.
func dropAppearedFirst(body *html.Node) {
	last := body.LastChild
	for last != nil && last.Type == html.TextNode && strings.TrimSpace(last.Data) == "" {
		last = last.PrevSibling
	}
	if last != nil && last.DataAtom == atom.P && appearedFirst.MatchString(nodeText(last)) {
		body.RemoveChild(last)
	}
}

// nodeText is the text inside n, spaces collapsed.
func nodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return collapseSpace(b.String())
}

// walk rewrites n's children in place; inNoscript marks fallback copies.
func (rw *rewriter) walk(n *html.Node, inNoscript bool) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch {
		case c.Type == html.CommentNode, c.Type == html.ElementNode && droppedTags[c.DataAtom]:
			n.RemoveChild(c)
		case c.Type == html.TextNode:
			if rw.pre == 0 {
				c.Data = squeezeBlank(c.Data)
			}
		case c.Type != html.ElementNode:
		case c.DataAtom == atom.Iframe:
			rw.replaceIframe(n, c)
		case c.DataAtom == atom.Video, c.DataAtom == atom.Audio:
			rw.replaceMedia(n, c)
		case c.DataAtom == atom.Picture:
			next = flattenPicture(n, c)
		case c.DataAtom == atom.Img:
			rw.image(n, c, inNoscript)
		default:
			rw.element(n, c, inNoscript)
		}
		c = next
	}
}

// element fixes an ordinary element's URLs and walks its children.
func (rw *rewriter) element(parent, n *html.Node, inNoscript bool) {
	rw.fixURLs(n)
	if n.DataAtom == atom.Pre {
		rw.pre++
		defer func() { rw.pre-- }()
	}
	rw.walk(n, inNoscript || n.DataAtom == atom.Noscript)
	switch {
	case n.DataAtom == atom.A && n.FirstChild == nil:
		parent.RemoveChild(n) // a link whose only child was a tracker, or an anchor target
	case n.DataAtom == atom.Noscript:
		unwrap(parent, n) // bluemonday would drop its content, real images included
	}
}

// squeezeBlank shortens the runs of blank lines and indentation that page
// builders (Squarespace, Wix) leave between tags; text with words in it is
// left alone.
func squeezeBlank(s string) string {
	if strings.TrimSpace(s) != "" || len(s) <= 1 {
		return s
	}
	if strings.Contains(s, "\n") {
		return "\n"
	}
	return " "
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

// unwrap replaces n with its children.
func unwrap(parent, n *html.Node) {
	for c := n.FirstChild; c != nil; c = n.FirstChild {
		n.RemoveChild(c)
		parent.InsertBefore(c, n)
	}
	parent.RemoveChild(n)
}

// dialLink matches the tel:, sms: and mailto: links kept as they are: a
// scheme and something after it, with no space or quote.
var dialLink = regexp.MustCompile(`(?i)^(tel|sms|mailto):[^\s"'<>\\]+$`)

// absoluteURLOrMailto is absoluteURL that also keeps mailto:, tel: and sms:
// links.
func absoluteURLOrMailto(base *url.URL, ref string) string {
	if ref = strings.TrimSpace(ref); dialLink.MatchString(ref) {
		return ref
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
