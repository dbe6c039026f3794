// STAND-IN — to be deleted at merge: h-compose owns package compose and its
// real implementation (goldmark, bluemonday, merge fields). This file exists
// only so that h-campaigns compiles against the agreed API
// (/work/notes/campaigns.md). Its Markdown is crude: paragraphs, "# "
// headings, nothing else.
package compose

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"

	"github.com/practicemail/practicemail/sequences"
)

// Format is a body's source format.
type Format string

// The formats.
const (
	Markdown Format = "markdown"
	HTML     Format = "html"
)

// FormatOf is the format of a body file by its extension.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".md", ".markdown":
		return Markdown, nil
	case ".html", ".htm":
		return HTML, nil
	}
	return "", fmt.Errorf("%s: a body is .md/.markdown (Markdown) or .html/.htm (HTML)", path)
}

// Fields are the campaign-wide merge values.
type Fields struct{ PracticeName, BookingURL string }

// Body is a sanitised body with first-name slots.
type Body struct {
	parts     []string // HTML between slots
	fallbacks []string
}

var field = regexp.MustCompile(`\{\{\s*([a-z_]+)\s*(?:\|([^}]*))?\}\}`)

// Render renders and sanitises src, filling the campaign-wide fields.
func Render(src []byte, f Format, fields Fields) (*Body, error) {
	s := string(src)
	if f == Markdown {
		var out []string
		for _, p := range regexp.MustCompile(`\n\s*\n`).Split(strings.TrimSpace(s), -1) {
			if h, ok := strings.CutPrefix(p, "# "); ok {
				out = append(out, "<h1>"+html.EscapeString(h)+"</h1>")
				continue
			}
			out = append(out, "<p>"+html.EscapeString(p)+"</p>")
		}
		s = strings.Join(out, "\n")
	}
	s = bluemonday.UGCPolicy().Sanitize(s)
	b := &Body{}
	var err error
	last := 0
	for _, m := range field.FindAllStringSubmatchIndex(s, -1) {
		name := s[m[2]:m[3]]
		fb := "there"
		if m[4] >= 0 {
			fb = s[m[4]:m[5]]
		}
		var value string
		switch name {
		case "first_name":
			b.parts = append(b.parts, s[last:m[0]])
			b.fallbacks = append(b.fallbacks, fb)
			last = m[1]
			continue
		case "practice_name":
			value = html.EscapeString(fields.PracticeName)
		case "booking_url":
			value = html.EscapeString(fields.BookingURL)
		default:
			err = errors.Join(err, fmt.Errorf("unknown merge field {{%s}}", name))
			continue
		}
		s = s[:m[0]] + value + s[m[1]:] // lengths change: start again
		return Render([]byte(s), HTML, fields)
	}
	if err != nil {
		return nil, err
	}
	b.parts = append(b.parts, s[last:])
	return b, nil
}

// Personal reports whether the body has a first-name slot.
func (b *Body) Personal() bool { return len(b.fallbacks) > 0 }

// For fills the first-name slots.
func (b *Body) For(firstName string) (template.HTML, string) {
	var sb strings.Builder
	for i, p := range b.parts {
		sb.WriteString(p)
		if i < len(b.fallbacks) {
			n := strings.TrimSpace(firstName)
			if n == "" {
				n = b.fallbacks[i]
			}
			sb.WriteString(html.EscapeString(n))
		}
	}
	h := sb.String()
	text := html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(h, ""))
	return template.HTML(h), text
}

// CheckSubject checks a campaign subject like a sequence step's.
func CheckSubject(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("the subject is empty")
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("the subject has a line break or control character")
	case len([]rune(s)) > 200:
		return errors.New("the subject is longer than 200 characters")
	}
	if t, ok := sequences.DefaultScreen().Find(s); ok {
		return fmt.Errorf("the subject names a condition or treatment (%q): subjects never do", t)
	}
	return nil
}
