package feeds

import (
	"html"
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// MaxContentBytes is the most sanitised HTML an item's Content holds. A
// longer post is cut at a block boundary and ends with a link to the rest
// on the blog. Rendering an email and inlining its CSS allocate about 50
// times the content's size (12 MB for 256 KiB, 209 MB for 4 MiB), and mail
// clients clip long messages anyway (Gmail after 102 KB).
const MaxContentBytes = 256 << 10

// maxTextBytes bounds each text in a feed document (an item's HTML,
// escaped or in CDATA) before it is parsed, and an item's raw HTML before
// it is sanitised: four times MaxContentBytes, since sanitising removes
// much of a page builder's markup, so that the content cap is still met
// with whole blocks.
const maxTextBytes = 4 * MaxContentBytes

// continueLabel ends a post cut short.
const continueLabel = "Continue reading on the blog"

// blockTags are the elements a post may be cut before or after.
var blockTags = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Details: true, atom.Dd: true, atom.Div: true, atom.Dl: true, atom.Dt: true,
	atom.Figure: true, atom.Footer: true, atom.H1: true, atom.H2: true, atom.H3: true,
	atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true, atom.Hr: true,
	atom.Li: true, atom.Main: true, atom.Ol: true, atom.P: true, atom.Pre: true,
	atom.Section: true, atom.Table: true, atom.Tr: true, atom.Ul: true,
}

// limitRaw cuts an item's raw HTML at a block boundary before it is
// parsed, when it is longer than maxTextBytes or was cut already (by
// shortenDocument, which may have cut inside a tag or a word), and says
// whether it is cut.
func limitRaw(raw string, cut bool) (string, bool) {
	if !cut && len(raw) <= maxTextBytes {
		return raw, false
	}
	return raw[:lastBoundary(raw[:min(len(raw), maxTextBytes)])], true
}

// limitContent cuts sanitised content longer than MaxContentBytes at a
// block boundary, closing the elements left open, and ends content that
// was cut (here or before sanitising) with a link to the whole post.
func limitContent(content string, cut bool, postURL string) string {
	if len(content) > MaxContentBytes {
		content, cut = closeElements(cutAtBlock(content, MaxContentBytes)), true
	}
	if !cut {
		return content
	}
	if postURL == "" {
		return content + "<p>This post continues on the blog.</p>"
	}
	return content + `<p><a href="` + html.EscapeString(postURL) + `" rel="noopener">` + continueLabel + "</a></p>"
}

// cutAtBlock returns s when it is at most limit bytes long, else its prefix
// up to the last boundary in its first limit bytes.
func cutAtBlock(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return s[:lastBoundary(s[:limit])]
}

// lastBoundary returns the end of the longest prefix of s, which may itself
// end inside a tag or a word, that ends just before a block element's start
// tag or just after its end tag. When there is none, the prefix ends at a
// space between words, else before the last token; the elements it leaves
// open are for a parser to close.
func lastBoundary(s string) int {
	z := xhtml.NewTokenizer(strings.NewReader(s))
	off, block, space, token := 0, 0, 0, 0
	opened := -1 // where a run of block start tags began, with nothing yet inside
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			break
		}
		raw := z.Raw()
		text := s[off : off+len(raw)]
		switch {
		case (tt == xhtml.StartTagToken || tt == xhtml.SelfClosingTagToken) && isBlock(z):
			if opened < 0 {
				opened = off
			}
			block = opened // before the outermost, rather than leave it empty
		case tt == xhtml.EndTagToken && isBlock(z) && raw[len(raw)-1] == '>':
			block, opened = off+len(raw), -1
		case tt == xhtml.TextToken && strings.TrimSpace(text) == "":
		default:
			opened = -1
		}
		if i := strings.LastIndexAny(text, " \t\r\n"); tt == xhtml.TextToken && i >= 0 {
			space = off + i
		}
		token = off
		off += len(raw)
	}
	switch {
	case block > 0:
		return block
	case space > 0:
		return space
	}
	return token
}

func isBlock(z *xhtml.Tokenizer) bool {
	name, _ := z.TagName()
	return blockTags[atom.Lookup(name)]
}

// closeElements parses an HTML fragment and renders it again, which closes
// the elements a cut left open.
func closeElements(fragment string) string {
	body := &xhtml.Node{Type: xhtml.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := xhtml.ParseFragment(strings.NewReader(fragment), body)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, n := range nodes {
		if err := xhtml.Render(&b, n); err != nil {
			return ""
		}
	}
	return b.String()
}
