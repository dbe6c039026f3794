package compose

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Merge fields are replaced by markers before Markdown and the sanitiser
// see the body, and the markers by their values after: a value is then
// escaped once, for where it ends up, and never read as Markdown or HTML.
// Markers are letters and digits with a random part, so Markdown, the HTML
// parser and the sanitiser leave them as they are, and a body cannot forge
// one. The booking link's marker is an absolute https URL, so that it
// survives as a link's address.

// defaultFallback is what {{first_name}} says to a recipient without one.
const defaultFallback = "there"

// fieldPattern matches one merge field: {{name}} or {{name|fallback}}.
var fieldPattern = regexp.MustCompile(`\{\{([^{}\n]*)\}\}`)

// knownFields is named in the error about an unknown field.
const knownFields = "{{first_name}}, {{first_name|Fallback}}, {{practice_name}}, {{booking_url}}"

// merge is one body's merge fields, between newMerge and fill.
type merge struct {
	src       string // the source with markers for fields
	nonce     string
	fields    Fields
	fallbacks []string // of each {{first_name}}, by marker number
}

func newMerge(src string, fields Fields) (*merge, error) {
	m := &merge{fields: fields}
	for m.nonce == "" || strings.Contains(src, m.nonce) {
		b := make([]byte, 8)
		rand.Read(b)
		m.nonce = hex.EncodeToString(b)
	}
	if i := strings.Index(src, "{{{"); i >= 0 { // a template language's unescaped field
		return nil, fmt.Errorf("compose: %q is not a merge field: a field is {{name}}, with two braces; the fields are %s",
			excerpt(src[i:]), knownFields)
	}
	var err error
	m.src = fieldPattern.ReplaceAllStringFunc(src, func(field string) string {
		marker, ferr := m.marker(field)
		if ferr != nil && err == nil {
			err = ferr
		}
		return marker
	})
	if err != nil {
		return nil, err
	}
	if i := strings.Index(m.src, "{{"); i >= 0 {
		return nil, fmt.Errorf("compose: %q is not a merge field: a field is {{name}} on one line; the fields are %s",
			excerpt(m.src[i:]), knownFields)
	}
	return m, nil
}

// excerpt is the start of s, to name a malformed field.
func excerpt(s string) string {
	if line, _, _ := strings.Cut(s, "\n"); len(line) <= 30 {
		return line
	}
	return s[:30] + "…"
}

// marker checks one field and returns the marker standing for it.
func (m *merge) marker(field string) (string, error) {
	name, fallback, hasFallback := strings.Cut(field[2:len(field)-2], "|")
	name, fallback = strings.TrimSpace(name), strings.TrimSpace(fallback)
	if hasFallback && name != "first_name" {
		return "", fmt.Errorf("compose: %s: only {{first_name}} takes a fallback", field)
	}
	switch name {
	case "first_name":
		if hasFallback && fallback == "" {
			return "", fmt.Errorf("compose: %s: the fallback after | is empty", field)
		}
		if !hasFallback {
			fallback = defaultFallback
		}
		m.fallbacks = append(m.fallbacks, fallback)
		return m.firstNameMarker(len(m.fallbacks) - 1), nil
	case "practice_name":
		if strings.TrimSpace(m.fields.PracticeName) == "" {
			return "", fmt.Errorf("compose: %s is used but the practice has no name (practice.name)", field)
		}
		return m.practiceMarker(), nil
	case "booking_url":
		if u, err := url.Parse(m.fields.BookingURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("compose: %s is used but practice.booking_url is not an http or https URL (%q)", field, m.fields.BookingURL)
		}
		return m.bookingMarker(), nil
	}
	return "", fmt.Errorf("compose: unknown merge field %s; the fields are %s", field, knownFields)
}

func (m *merge) firstNameMarker(i int) string { return "x" + m.nonce + "f" + strconv.Itoa(i) + "x" }
func (m *merge) practiceMarker() string       { return "x" + m.nonce + "px" }
func (m *merge) bookingMarker() string        { return "https://booking.invalid/x" + m.nonce + "bx" }

// fill checks where the markers ended up in the sanitised HTML, puts in
// the campaign-wide values and cuts the HTML at the first-name slots.
func (m *merge) fill(safe string) (*Body, error) {
	if err := m.checkAttributes(safe); err != nil {
		return nil, err
	}
	safe = strings.NewReplacer(
		m.bookingMarker(), html.EscapeString(m.fields.BookingURL),
		m.practiceMarker(), html.EscapeString(m.fields.PracticeName),
	).Replace(safe)
	slot := regexp.MustCompile(`x` + m.nonce + `f([0-9]+)x`)
	b := &Body{}
	last := 0
	for _, loc := range slot.FindAllStringSubmatchIndex(safe, -1) {
		i, _ := strconv.Atoi(safe[loc[2]:loc[3]]) // digits, and a number newMerge gave
		b.parts = append(b.parts, safe[last:loc[0]])
		b.fallbacks = append(b.fallbacks, m.fallbacks[i])
		last = loc[1]
	}
	b.parts = append(b.parts, safe[last:])
	return b, nil
}

// urlAttrs hold addresses; of the merge fields only the booking link may
// be (part of) one.
var urlAttrs = map[string]bool{"href": true, "src": true, "cite": true}

// checkAttributes refuses a first name in an attribute (an image's alt
// text, a link's address), where For does not fill it, and the practice's
// name in an address.
func (m *merge) checkAttributes(safe string) error {
	nodes, err := nethtml.ParseFragment(strings.NewReader(safe),
		&nethtml.Node{Type: nethtml.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	first, practice := "x"+m.nonce+"f", m.practiceMarker()
	var walk func(*nethtml.Node) error
	walk = func(n *nethtml.Node) error {
		for _, a := range n.Attr {
			switch {
			case strings.Contains(a.Val, first):
				return fmt.Errorf("compose: {{first_name}} can be used in the text only, not in <%s %s>", n.Data, a.Key)
			case strings.Contains(a.Val, practice) && urlAttrs[a.Key]:
				return fmt.Errorf("compose: {{practice_name}} cannot be part of <%s %s>; of the merge fields only {{booking_url}} can be an address", n.Data, a.Key)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range nodes {
		if err := walk(n); err != nil {
			return err
		}
	}
	return nil
}
