package templates

import (
	htmltemplate "html/template"
	"strings"
	"time"
	"unicode/utf8"
)

// wrapWidth is where text parts wrap; words longer than this (URLs) are
// never broken, so links stay clickable and placeholders stay whole.
const wrapWidth = 76

// funcs are available to every template, HTML and text alike.
var funcs = map[string]any{
	// date formats t as "November 25, 2026" in loc (t's own zone if nil).
	"date": func(t time.Time, loc *time.Location) string {
		if loc != nil {
			t = t.In(loc)
		}
		return t.Format("January 2, 2006")
	},
	// text converts sanitised HTML content into wrapped plain text.
	"text": func(h htmltemplate.HTML) (string, error) { return PlainText(string(h)) },
	// wrap wraps plain text at wrapWidth, keeping its line breaks.
	"wrap": func(s string) string { return para{text: s}.render() },
	// link pairs a URL with a label, for the "button" partial.
	"link": func(url, label string) buttonLink { return buttonLink{URL: url, Label: label} },
	// heading wraps s and underlines it, for titles in text parts.
	"heading": func(s string) string { return para{text: s, heading: 1}.render() },
	// preheader is an email's inbox preview text, empty for an email
	// without one: the layout shows it hidden at the top of the body.
	"preheader": func(data any) string {
		if p, ok := data.(previewed); ok {
			return p.preview()
		}
		return ""
	},
}

// previewed is implemented by the data of emails that choose the preview
// text an inbox shows beside the subject (sequence steps).
type previewed interface {
	preview() string
}

// buttonLink is the data of the "button" partial.
type buttonLink struct {
	URL, Label string
}

// para is one paragraph of a text part.
type para struct {
	first, rest string // prefixes of the first and the following lines
	text        string
	pre         bool // keep text as it is instead of wrapping it
	tight       bool // no blank line before it
	heading     int  // heading level, 0 for none
}

// render wraps the paragraph, adds its prefixes and underlines it if it is a
// top-level heading.
func (p para) render() string {
	var lines []string
	if p.pre {
		lines = strings.Split(strings.Trim(p.text, "\n"), "\n")
	} else {
		width := wrapWidth - max(utf8.RuneCountInString(p.first), utf8.RuneCountInString(p.rest))
		for l := range strings.SplitSeq(p.text, "\n") {
			lines = append(lines, wrapWords(strings.Fields(l), width)...)
		}
		for len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		for len(lines) > 0 && lines[0] == "" {
			lines = lines[1:]
		}
	}
	longest := 0
	for i, l := range lines {
		longest = max(longest, utf8.RuneCountInString(l))
		if i == 0 {
			lines[i] = p.first + l
		} else {
			lines[i] = p.rest + l
		}
	}
	if underline := map[int]string{1: "=", 2: "-"}[p.heading]; underline != "" && longest > 0 {
		lines = append(lines, p.rest+strings.Repeat(underline, longest))
	}
	return strings.Join(lines, "\n")
}

// wrapWords fills lines of at most width runes with words. A line break in
// the source that has no words gives an empty line.
func wrapWords(words []string, width int) []string {
	var lines []string
	var line strings.Builder
	n := 0
	for _, word := range words {
		wn := utf8.RuneCountInString(word)
		if n > 0 && n+1+wn > width {
			lines = append(lines, line.String())
			line.Reset()
			n = 0
		}
		if n > 0 {
			line.WriteByte(' ')
			n++
		}
		line.WriteString(word)
		n += wn
	}
	return append(lines, line.String())
}
