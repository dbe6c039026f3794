// Package compose turns a campaign's body, written in Markdown or HTML, into
// the safe HTML of an email and its text part, with merge fields filled.
//
// Render does the work once per campaign: Markdown through goldmark (GitHub
// flavoured), then the sanitiser feed content goes through
// (feeds.SanitizeHTML), then the campaign-wide merge fields. What differs
// per recipient, their first name, is left as slots that Body.For fills,
// escaped for HTML; the text part is made from that HTML the way a post
// email's is (templates.PlainText), so the name comes out verbatim there.
package compose

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"html/template"
	"path/filepath"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	goldhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/practicemail/practicemail/feeds"
	"github.com/practicemail/practicemail/templates"
)

// Format is the language a body is written in.
type Format string

// The formats a body may be written in.
const (
	Markdown Format = "markdown"
	HTML     Format = "html"
)

// FormatOf tells a body file's format by its extension: .md and .markdown
// are Markdown, .html and .htm are HTML.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".md", ".markdown":
		return Markdown, nil
	case ".html", ".htm":
		return HTML, nil
	}
	return "", fmt.Errorf("compose: %s: a body must be Markdown (.md, .markdown) or HTML (.html, .htm)", path)
}

// Fields are the merge values the same for every recipient of a campaign.
type Fields struct {
	PracticeName string // for {{practice_name}}
	BookingURL   string // for {{booking_url}}: an absolute http or https URL
}

// Body is a rendered, sanitised campaign body. Its HTML is split at the
// first-name slots: parts has one element more than fallbacks, and slot i
// sits between parts[i] and parts[i+1]. A Body is safe for concurrent use.
type Body struct {
	parts     []string
	fallbacks []string // each slot's text when the recipient has no first name
	text      string   // the text part, when there is no slot
}

// maxSource bounds a body's source: a campaign is a letter, not a book.
const maxSource = 1 << 20

// markdown renders GitHub-flavoured Markdown (tables, strikethrough, bare
// links). Raw HTML in it is let through to the sanitiser, which decides
// what of it stays, as it does for an HTML body.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithRendererOptions(goldhtml.WithUnsafe()),
)

// Render renders src, written in format f, sanitises it and fills the
// campaign-wide merge fields from fields. It fails on an unknown or
// malformed merge field, naming it, on a field used without its value in
// fields, and on a body left empty by sanitising.
func Render(src []byte, f Format, fields Fields) (*Body, error) {
	if len(src) > maxSource {
		return nil, fmt.Errorf("compose: the body is %d bytes; at most %d", len(src), maxSource)
	}
	m, err := newMerge(string(src), fields)
	if err != nil {
		return nil, err
	}
	var raw string
	switch f {
	case Markdown:
		var b bytes.Buffer
		if err := markdown.Convert([]byte(m.src), &b); err != nil {
			return nil, fmt.Errorf("compose: markdown: %w", err)
		}
		raw = b.String()
	case HTML:
		raw = m.src
	default:
		return nil, fmt.Errorf("compose: unknown body format %q", f)
	}
	safe := feeds.SanitizeHTML(raw)
	if strings.TrimSpace(safe) == "" {
		return nil, errors.New("compose: the body is empty once sanitised")
	}
	b, err := m.fill(safe)
	if err != nil {
		return nil, err
	}
	// Convert once now, with the fallbacks: a body that cannot become text
	// fails here, and For, which converts the same HTML with a name in
	// place of a fallback, cannot fail later.
	text, err := templates.PlainText(b.join(b.fallbacks))
	if err != nil {
		return nil, fmt.Errorf("compose: text part: %w", err)
	}
	if !b.Personal() {
		b.text = text
	}
	return b, nil
}

// Personal reports whether the body has a first-name slot, so that each
// recipient's copy differs.
func (b *Body) Personal() bool { return len(b.fallbacks) > 0 }

// For returns the body for a recipient called firstName: the HTML, with
// the name escaped in each slot, and the text part, with the name as it is.
// An empty or blank firstName gives each slot's fallback.
func (b *Body) For(firstName string) (template.HTML, string) {
	if !b.Personal() {
		return template.HTML(b.parts[0]), b.text
	}
	names := b.fallbacks
	if name := strings.Join(strings.Fields(firstName), " "); name != "" {
		names = make([]string, len(b.fallbacks))
		for i := range names {
			names[i] = name
		}
	}
	h := b.join(names)
	text, _ := templates.PlainText(h) // cannot fail: Render converted the same HTML
	return template.HTML(h), text
}

// join puts names (plain text, escaped here) in the slots.
func (b *Body) join(names []string) string {
	var s strings.Builder
	s.WriteString(b.parts[0])
	for i, name := range names {
		s.WriteString(html.EscapeString(name))
		s.WriteString(b.parts[i+1])
	}
	return s.String()
}
