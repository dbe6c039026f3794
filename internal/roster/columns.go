package roster

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoEmailColumn is returned by Import when the header names no column
// that holds email addresses.
var ErrNoEmailColumn = errors.New("no email column in the CSV header")

// columns holds the index of each column the import reads, -1 when absent.
type columns struct {
	email, name, first, last int
	status, disabled         int // export status; Substack's email_disabled
	topics, timeZone         int // as Export writes them; Mailchimp has TIMEZONE too
	width                    int // fields in the header
}

// findColumns maps a header to columns. Names match whatever their case,
// spacing, underscores or hyphens: "Email Address", "email_address" and
// "E-mail" are one name. When two columns match, the first wins.
func findColumns(header []string) (columns, error) {
	c := columns{-1, -1, -1, -1, -1, -1, -1, -1, len(header)}
	for i, h := range header {
		var p *int
		switch headerKey(h) {
		case "email", "emailaddress":
			p = &c.email
		case "name", "fullname":
			p = &c.name
		case "firstname", "fname", "first", "givenname":
			p = &c.first
		case "lastname", "lname", "last", "surname", "familyname":
			p = &c.last
		case "status", "memberstatus":
			p = &c.status
		case "emaildisabled":
			p = &c.disabled
		case "topics":
			p = &c.topics
		case "timezone":
			p = &c.timeZone
		}
		if p != nil && *p < 0 {
			*p = i
		}
	}
	if c.email < 0 {
		return c, fmt.Errorf("%w (want one named email, Email Address or email_address); the header has %s",
			ErrNoEmailColumn, quoteAll(header))
	}
	return c, nil
}

func headerKey(h string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '\t', '\ufeff', '\u00a0':
			return -1
		}
		return r
	}, strings.ToLower(h))
}

func quoteAll(header []string) string {
	if len(header) == 0 {
		return "no columns"
	}
	q := make([]string, len(header))
	for i, h := range header {
		q[i] = fmt.Sprintf("%q", shorten(h))
	}
	return strings.Join(q, ", ")
}

// field returns column i of a row, trimmed, or "" when the row is too short.
func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return unescapeCell(strings.TrimSpace(rec[i]))
}

// statusSkips are export statuses of people who must not be imported, with
// the reason given. Mailchimp says unsubscribed, cleaned (bounced),
// transactional (never subscribed to marketing) or archived; ConvertKit says
// cancelled; Export writes the store's own statuses.
var statusSkips = map[string]string{
	"unsubscribed":  "unsubscribed in export",
	"cancelled":     "unsubscribed in export",
	"canceled":      "unsubscribed in export",
	"cleaned":       "cleaned (bounced) in export",
	"bounced":       "bounced in export",
	"complained":    "complained in export",
	"transactional": "never subscribed in export (transactional)",
	"archived":      "archived in export",
}

// isTrue reads a boolean cell the way exports write one.
func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "1":
		return true
	}
	return false
}
