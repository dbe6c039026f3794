package templates

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// PlainText converts an HTML fragment (already sanitised) into plain text for
// the text part of an email: paragraphs separated by blank lines, <br> as a
// line break, links as "text (url)", list items as "- " or "1. ", headings
// underlined, quotes prefixed with "> ", pre-formatted text kept as it is,
// and everything else wrapped at wrapWidth columns. The post email's text
// part is made by it (the "text" template function), and so is a campaign
// body's (compose), so both read alike.
func PlainText(fragment string) (string, error) {
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(fragment), body)
	if err != nil {
		return "", fmt.Errorf("parse html: %w", err)
	}
	var w textWriter
	for _, n := range nodes {
		w.node(n)
	}
	w.flush()
	return w.String(), nil
}

var sourceBreaks = strings.NewReplacer("\r", " ", "\n", " ")

// textWriter accumulates the inline text of the current block in buf and
// turns it into a para at every block boundary.
type textWriter struct {
	paras  []para
	buf    strings.Builder
	prefix []string // line prefixes in force: "> " per quote, spaces per list item
	bullet string   // first-line prefix of the next para, for a list item
	tight  bool     // next para follows a list item: no blank line before it
	lists  []list
	pre    int
}

type list struct {
	ordered bool
	next    int // number of the next item of an ordered list
	items   int
}

func (w *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		if w.pre > 0 {
			w.buf.WriteString(n.Data)
		} else {
			// Only <br> breaks a line; a newline in the source is a space.
			w.buf.WriteString(sourceBreaks.Replace(n.Data))
		}
	case html.ElementNode:
		w.element(n)
	case html.DocumentNode:
		w.children(n)
	}
}

func (w *textWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

func (w *textWriter) element(n *html.Node) {
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
	case atom.Br:
		w.buf.WriteByte('\n')
	case atom.Hr:
		w.flush()
		w.buf.WriteString("----")
		w.flush()
	case atom.A:
		w.link(n)
	case atom.Img:
		if alt := strings.TrimSpace(attr(n, "alt")); alt != "" {
			w.buf.WriteString(" [" + alt + "] ")
		}
	case atom.Td, atom.Th:
		w.children(n)
		w.buf.WriteString("  ")
	case atom.Ul, atom.Ol:
		w.list(n)
	case atom.Li:
		w.item(n)
	case atom.Blockquote:
		w.block(n, "> ")
	case atom.Pre:
		w.flush()
		w.pre++
		w.children(n)
		w.flush()
		w.pre--
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		w.flush()
		w.children(n)
		w.flushAs(int(n.Data[1] - '0'))
	default:
		if blockElements[n.DataAtom] {
			w.block(n, "")
		} else {
			w.children(n)
		}
	}
}

// blockElements start and end a paragraph; other elements are inline.
var blockElements = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true,
	atom.Header: true, atom.Footer: true, atom.Aside: true, atom.Nav: true,
	atom.Figure: true, atom.Figcaption: true, atom.Table: true, atom.Tr: true,
	atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Address: true,
	atom.Details: true, atom.Summary: true, atom.Main: true,
}

// block renders n as its own paragraphs, with prefix added to every line.
func (w *textWriter) block(n *html.Node, prefix string) {
	w.flush()
	w.prefix = append(w.prefix, prefix)
	w.children(n)
	w.flush()
	w.prefix = w.prefix[:len(w.prefix)-1]
}

func (w *textWriter) list(n *html.Node) {
	w.flush()
	l := list{ordered: n.DataAtom == atom.Ol, next: 1}
	if start, err := strconv.Atoi(attr(n, "start")); err == nil {
		l.next = start
	}
	w.lists = append(w.lists, l)
	w.children(n)
	w.flush()
	w.lists = w.lists[:len(w.lists)-1]
}

func (w *textWriter) item(n *html.Node) {
	w.flush()
	mark := "- "
	if k := len(w.lists); k > 0 {
		l := &w.lists[k-1]
		if l.ordered {
			mark = strconv.Itoa(l.next) + ". "
			l.next++
		}
		w.tight = l.items > 0 || k > 1
		l.items++
	}
	w.bullet = strings.Join(w.prefix, "") + mark
	w.prefix = append(w.prefix, strings.Repeat(" ", len(mark)))
	w.children(n)
	w.flush()
	w.prefix = w.prefix[:len(w.prefix)-1]
	w.bullet, w.tight = "", false
}

// link writes the link's text followed by its URL in parentheses, or only
// one of them when they say the same thing.
func (w *textWriter) link(n *html.Node) {
	href := strings.TrimSpace(attr(n, "href"))
	start := w.buf.Len()
	w.children(n)
	label := strings.TrimSpace(w.buf.String()[start:])
	switch {
	case href == "" || strings.HasPrefix(href, "#"):
	case label == "":
		w.buf.WriteString(" " + href + " ")
	case !sameTarget(label, href):
		w.buf.WriteString(" (" + href + ")")
	}
}

func sameTarget(label, href string) bool {
	for _, scheme := range []string{"mailto:", "tel:", "https://", "http://"} {
		href = strings.TrimPrefix(href, scheme)
		label = strings.TrimPrefix(label, scheme)
	}
	return strings.TrimSuffix(label, "/") == strings.TrimSuffix(href, "/")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

func (w *textWriter) flush() { w.flushAs(0) }

// flushAs ends the current paragraph; heading is its heading level, or 0.
func (w *textWriter) flushAs(heading int) {
	text := w.buf.String()
	w.buf.Reset()
	if strings.TrimSpace(text) == "" {
		return
	}
	p := para{rest: strings.Join(w.prefix, ""), text: text, pre: w.pre > 0, tight: w.tight, heading: heading}
	p.first = p.rest
	if w.bullet != "" {
		p.first, w.bullet = w.bullet, ""
	}
	w.paras = append(w.paras, p)
	w.tight = false
}

// String joins the paragraphs, separated by blank lines except between list
// items.
func (w *textWriter) String() string {
	var b strings.Builder
	for i, p := range w.paras {
		if i > 0 {
			b.WriteString("\n")
			if !p.tight {
				b.WriteString("\n")
			}
		}
		b.WriteString(p.render())
	}
	return b.String()
}
