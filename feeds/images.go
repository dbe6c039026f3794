package feeds

import (
	"cmp"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// lazyAttrs hold the real image of lazy-loading plugins (WP Rocket,
// a3 Lazy Load, Smush, lazysizes, Squarespace 7.0) while src holds a
// placeholder until a script swaps them.
var lazyAttrs = []string{"data-src", "data-lazy-src", "data-original", "data-orig-file"}

// srcsetAttrs hold candidate lists, for images that carry only a srcset.
var srcsetAttrs = []string{"data-lazy-srcset", "data-srcset", "srcset"}

// emailImageWidth is the srcset width to aim for: a 600px email column on
// a high-density screen.
const emailImageWidth = 1200

// image keeps, rewrites or removes an <img>: emoji images become their
// text, trackers and invisible or duplicate images go, the rest get their
// real absolute source.
func (rw *rewriter) image(parent, n *html.Node, inNoscript bool) {
	if isEmoji(n) {
		if abs := absoluteURL(rw.base, getAttr(n, "src")); abs != "" {
			rw.dropped[abs] = true // never the item's image either
		}
		if alt := strings.TrimSpace(getAttr(n, "alt")); alt != "" {
			parent.InsertBefore(&html.Node{Type: html.TextNode, Data: alt}, n)
		}
		parent.RemoveChild(n)
		return
	}
	if !rw.keepImage(n, inNoscript) {
		parent.RemoveChild(n)
	}
}

// keepImage fixes an <img> and reports whether it is worth keeping: not a
// tracker, not invisible, not a placeholder, not a lazy-loading plugin's
// second copy of the same picture (in <noscript>, before or after it).
func (rw *rewriter) keepImage(n *html.Node, inNoscript bool) bool {
	abs := absoluteURL(rw.base, imageSource(n))
	switch {
	case abs == "":
		return false
	case inNoscript && rw.seenImgs[abs], !inNoscript && rw.noscriptImgs[abs]:
		return false
	}
	if isPixel(n) || isTrackerURL(abs) {
		rw.dropped[abs] = true
		return false
	}
	if inNoscript {
		rw.noscriptImgs[abs] = true
	} else {
		rw.seenImgs[abs] = true
	}
	if rw.firstImg == "" {
		rw.firstImg = abs
	}
	setAttr(n, "src", abs)
	return true
}

// imageSource finds an <img>'s real image: a lazy-loading attribute, else
// a src that is not a data: placeholder, else the best srcset candidate,
// else Squarespace's data-image.
func imageSource(n *html.Node) string {
	for _, key := range lazyAttrs {
		if v := getAttr(n, key); usableSource(v) {
			return v
		}
	}
	if v := getAttr(n, "src"); usableSource(v) {
		return v
	}
	for _, key := range srcsetAttrs {
		if v := bestCandidate(getAttr(n, key)); v != "" {
			return v
		}
	}
	if v := getAttr(n, "data-image"); usableSource(v) {
		return v
	}
	return ""
}

func usableSource(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	return v != "" && !strings.HasPrefix(v, "data:") && !strings.HasPrefix(v, "about:")
}

// bestCandidate picks from a srcset the widest image no wider than
// emailImageWidth, else the narrowest; with density descriptors ("2x"),
// the first.
func bestCandidate(srcset string) string {
	best, bestW, smallest, smallestW, first := "", 0, "", 0, ""
	for _, c := range parseSrcset(srcset) {
		if !usableSource(c.url) {
			continue
		}
		if first == "" {
			first = c.url
		}
		switch {
		case c.width == 0:
		case c.width <= emailImageWidth && c.width > bestW:
			best, bestW = c.url, c.width
		case smallestW == 0 || c.width < smallestW:
			smallest, smallestW = c.url, c.width
		}
	}
	switch {
	case best != "":
		return best
	case smallest != "":
		return smallest
	}
	return first
}

type srcsetCandidate struct {
	url   string
	width int // from a "300w" descriptor, else 0
}

// parseSrcset splits a srcset the way browsers do: a URL runs to the next
// space (so URLs with commas, as Wix writes them, survive), then a
// descriptor runs to the next comma.
func parseSrcset(s string) []srcsetCandidate {
	var out []srcsetCandidate
	for {
		s = strings.TrimLeft(s, " \t\r\n,")
		if s == "" {
			return out
		}
		end := strings.IndexAny(s, " \t\r\n")
		if end < 0 {
			end = len(s)
		}
		c := srcsetCandidate{url: s[:end]}
		s = s[end:]
		if trimmed := strings.TrimRight(c.url, ","); trimmed != c.url {
			c.url = trimmed // no descriptor
		} else {
			desc := s
			if i := strings.IndexByte(s, ','); i >= 0 {
				desc, s = s[:i], s[i+1:]
			} else {
				s = ""
			}
			desc = strings.TrimSpace(desc)
			if w, err := strconv.Atoi(strings.TrimSuffix(desc, "w")); err == nil && strings.HasSuffix(desc, "w") {
				c.width = w
			}
		}
		out = append(out, c)
	}
}

// flattenPicture replaces a <picture> with its <img>, which takes the
// first fitting <source> when it has no image of its own (a JPEG or PNG
// source before WebP or AVIF, which several email clients cannot show).
// It returns the node to visit next: the <img>, or what followed.
func flattenPicture(parent, pic *html.Node) *html.Node {
	next := pic.NextSibling
	var img *html.Node
	var source, modern string
	for c := pic.FirstChild; c != nil; c = c.NextSibling {
		switch {
		case c.Type != html.ElementNode:
		case c.DataAtom == atom.Img && img == nil:
			img = c
		case c.DataAtom == atom.Source:
			cand := bestCandidate(getAttr(c, "srcset"))
			if cand == "" {
				cand = bestCandidate(getAttr(c, "data-srcset"))
			}
			typ := strings.ToLower(getAttr(c, "type"))
			if strings.Contains(typ, "webp") || strings.Contains(typ, "avif") {
				modern = cmp.Or(modern, cand)
			} else {
				source = cmp.Or(source, cand)
			}
		}
	}
	fallback := cmp.Or(source, modern)
	if img == nil && fallback != "" {
		img = &html.Node{Type: html.ElementNode, Data: "img", DataAtom: atom.Img}
	}
	parent.RemoveChild(pic)
	if img == nil {
		return next
	}
	if img.Parent != nil {
		img.Parent.RemoveChild(img)
	}
	if imageSource(img) == "" {
		setAttr(img, "src", fallback)
	}
	parent.InsertBefore(img, next)
	return img
}

// isEmoji reports whether an <img> stands for an emoji: WordPress turns
// every emoji in a feed into a 72px PNG (class "wp-smiley" or "emoji"),
// which an email would show huge without WordPress's inline size.
func isEmoji(n *html.Node) bool {
	for _, class := range strings.Fields(strings.ToLower(getAttr(n, "class"))) {
		if class == "wp-smiley" || class == "emoji" {
			return true
		}
	}
	u, err := url.Parse(strings.TrimSpace(getAttr(n, "src")))
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	return host == "s.w.org" && strings.HasPrefix(u.Path, "/images/core/emoji/") ||
		strings.Contains(host, "twemoji") || strings.Contains(u.Path, "/twemoji")
}
