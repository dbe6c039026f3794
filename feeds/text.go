package feeds

import (
	"html"
	"regexp"
	"strings"
	"unicode"

	xhtml "golang.org/x/net/html"
)

// summaryLimit is the most runes a Summary holds, "…" included.
const summaryLimit = 300

// inlineTags do not separate words: "<em>un</em>usual" is one word, while
// "<p>one</p><p>two</p>" is two.
var inlineTags = map[string]bool{
	"a": true, "abbr": true, "b": true, "bdi": true, "bdo": true, "cite": true, "code": true,
	"data": true, "dfn": true, "em": true, "font": true, "i": true, "kbd": true, "mark": true,
	"q": true, "s": true, "samp": true, "small": true, "span": true, "strike": true,
	"strong": true, "sub": true, "sup": true, "time": true, "tt": true, "u": true, "var": true,
	"wbr": true,
}

// hiddenTags hold text a reader never sees.
var hiddenTags = map[string]bool{
	"script": true, "style": true, "template": true, "noscript": true, "iframe": true,
	"noembed": true, "noframes": true, "object": true, "svg": true, "textarea": true,
	"title": true, "head": true, "xmp": true,
}

// plainText turns an HTML (or plain) string into one line of text: tags
// dropped, entities decoded, whitespace collapsed. Titles need it too:
// feeds double-escape ("&amp;#8217;") and Atom titles may be type="html".
func plainText(s string) string {
	s = strings.ReplaceAll(s, cutMark, " ")
	if !strings.ContainsAny(s, "<&") {
		return collapseSpace(s)
	}
	var b strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(s))
	hidden := 0
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return collapseSpace(b.String())
		case xhtml.TextToken:
			if hidden == 0 {
				b.Write(z.Text())
			}
		case xhtml.StartTagToken, xhtml.EndTagToken, xhtml.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if hiddenTags[tag] && tt != xhtml.SelfClosingTagToken {
				hidden = adjustDepth(hidden, tt == xhtml.StartTagToken)
			}
			if !inlineTags[tag] {
				b.WriteByte(' ')
			}
		}
	}
}

// leftoverEntity matches a character reference that survived decoding.
var leftoverEntity = regexp.MustCompile(`&(#[0-9]{2,7}|#[xX][0-9a-fA-F]{2,6}|[a-zA-Z]{2,8});`)

// titleText is plainText for titles and names, which some feeds escape
// twice over ("It&amp;amp;#8217;s" in XML, or "&amp;#8217;" inside CDATA):
// character references left after one decoding are decoded again, up to
// twice, so a subject line never reads "It&#8217;s". Bodies are not treated
// this way: there a literal "&amp;" may be what the author wrote.
func titleText(s string) string {
	t := plainText(s)
	for range 2 {
		if !leftoverEntity.MatchString(t) {
			break
		}
		t = collapseSpace(html.UnescapeString(t))
	}
	return t
}

func adjustDepth(depth int, open bool) int {
	if open {
		return depth + 1
	}
	return max(0, depth-1)
}

func collapseSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, isSpace), " ")
}

// isSpace also counts zero-width characters, which editors leave behind and
// which would otherwise glue words or pad a summary.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff'
}

// withoutAppearedFirst removes the appearedFirst line from the end of an
// excerpt, where the plugins add it too.
func withoutAppearedFirst(text string) string {
	tail := max(0, len(text)-600)
	i := strings.Index(text[tail:], "The post ")
	if i < 0 || !appearedFirst.MatchString(text[tail+i:]) {
		return text
	}
	return strings.TrimSpace(text[:tail+i])
}

// summarise cuts text to summaryLimit runes on a word boundary, ending
// with "…" when it cut anything.
func summarise(text string) string {
	runes := []rune(text)
	if len(runes) <= summaryLimit {
		return text
	}
	cut := runes[:summaryLimit-1]
	if i := lastSpace(cut); i > summaryLimit/2 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(string(cut), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) && r != '?' && r != '!'
	}) + "…"
}

func lastSpace(runes []rune) int {
	for i := len(runes) - 1; i >= 0; i-- {
		if unicode.IsSpace(runes[i]) {
			return i
		}
	}
	return -1
}

// textToHTML renders plain text as paragraphs: blank lines separate them,
// single newlines become <br>.
func textToHTML(text string) string {
	text = strings.ReplaceAll(strings.TrimSpace(text), "\r\n", "\n")
	if text == "" {
		return ""
	}
	var b strings.Builder
	for _, para := range strings.Split(text, "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		lines := strings.Split(para, "\n")
		for i := range lines {
			lines[i] = html.EscapeString(strings.TrimSpace(lines[i]))
		}
		b.WriteString("<p>" + strings.Join(lines, "<br>") + "</p>")
	}
	return b.String()
}
