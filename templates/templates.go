// Package templates holds the embedded email templates and renders them.
//
// Every email is a pair of files under email/: NAME.html (html/template) and
// NAME.txt (text/template). Each file defines a "content" template; the .txt
// file may also define a "subject" template. Both are executed inside the
// shared layout (email/layout.html and email/layout.txt), which prints the
// practice's name as a header and the footer, and may use the partials in
// email/partials/ (such as "crisis"). An email may also define "reason",
// printed at the top of the footer: one line saying why the reader gets it. Adding an email is adding a pair of
// files and, if it needs one, a data struct: the data of every email has a
// Practice string (the header) and a Footer.
//
// Templates are parsed once, by New, which refuses to start on any error and
// names the file at fault. The HTML part is a single-column, table-based
// layout whose CSS is inlined into style attributes; only an @media block
// stays in a <style> element, for clients that understand it.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"
)

//go:embed email
var files embed.FS

//go:embed sequences
var sequenceFiles embed.FS

// Sequences returns the built-in follow-up sequences (the files of
// templates/sequences): what an install uses unless sequences.dir names a
// directory of its own, so that the binary alone is enough to run.
func Sequences() fs.FS {
	sub, err := fs.Sub(sequenceFiles, "sequences")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Rendered is one email ready to be composed into a message. HTML and Text are
// complete documents; Subject is a single line.
type Rendered struct {
	Subject string
	HTML    string
	Text    string
}

// Engine renders the embedded emails. It is safe for concurrent use.
type Engine struct {
	emails map[string]email
}

// email is one parsed email: the layout, the partials and the email's own
// file, in both formats.
type email struct {
	html *htmltemplate.Template
	text *texttemplate.Template
}

// New parses every embedded template. It returns an error naming the file at
// fault if any template is missing its twin or fails to parse.
func New() (*Engine, error) {
	emails, err := load(files, "email")
	if err != nil {
		return nil, err
	}
	return &Engine{emails: emails}, nil
}

// Names returns the names of all emails, such as "post" and "inquiry/thanks",
// sorted.
func (e *Engine) Names() []string {
	names := make([]string, 0, len(e.emails))
	for name := range e.emails {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Has reports whether an email called name exists, so that configuration
// naming templates (sequence steps) can be checked at start.
func (e *Engine) Has(name string) bool {
	_, ok := e.emails[name]
	return ok
}

// footed is implemented by the data structs of this package so that Render
// can refuse a marketing email without its legally required footer.
type footed interface {
	footer() Footer
}

// Render renders the email called name (such as "inquiry/thanks") with data,
// which must have a Practice string field and a Footer field. Subject is the
// template's "subject", or empty if it defines none; callers that choose
// their own subject (sequence steps, campaigns) use theirs.
func (e *Engine) Render(name string, data any) (Rendered, error) {
	em, ok := e.emails[name]
	if !ok {
		return Rendered{}, fmt.Errorf("templates: no email called %q", name)
	}
	if f, ok := data.(footed); ok {
		if err := f.footer().validate(); err != nil {
			return Rendered{}, fmt.Errorf("templates: %s: %w", name, err)
		}
	}
	var r Rendered
	var err error
	if r.Subject, err = subject(em.text, data); err != nil {
		return Rendered{}, fmt.Errorf("templates: %s subject: %w", name, err)
	}
	var text bytes.Buffer
	if err := em.text.ExecuteTemplate(&text, "layout", data); err != nil {
		return Rendered{}, fmt.Errorf("templates: %s text: %w", name, err)
	}
	r.Text = tidyText(text.String())
	var html bytes.Buffer
	if err := em.html.ExecuteTemplate(&html, "layout", data); err != nil {
		return Rendered{}, fmt.Errorf("templates: %s html: %w", name, err)
	}
	if r.HTML, err = inlineCSS(html.String()); err != nil {
		return Rendered{}, fmt.Errorf("templates: %s html: %w", name, err)
	}
	return r, nil
}

// subject renders the "subject" template onto one line.
func subject(t *texttemplate.Template, data any) (string, error) {
	if t.Lookup("subject") == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "subject", data); err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidyText removes trailing spaces and runs of blank lines that template
// actions leave behind, and ends the text with exactly one newline.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	s = blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.Trim(s, "\n") + "\n"
}

// errMissingFooter is returned for a marketing email without the postal
// address or the unsubscribe and preferences links.
var errMissingFooter = errors.New("marketing email needs practice name, postal address, unsubscribe and preferences URLs")
