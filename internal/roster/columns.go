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
	status, disabled         int // export status (Kit's state); Substack's email_disabled
	topics, timeZone         int // as Export writes them; Mailchimp has TIMEZONE too
	unsubTime, cleanTime     int // Mailchimp's unsubscribed and cleaned exports
	consentAt, consentSource int // as Export writes them
	optinTime, confirmTime   int // Mailchimp
	createdAt                int // Substack, Kit
	platform                 string
	width                    int // fields in the header
}

// headerKeys maps a normalised header name to the column it is.
var headerKeys = map[string]func(*columns) *int{
	"email":              func(c *columns) *int { return &c.email },
	"emailaddress":       func(c *columns) *int { return &c.email },
	"name":               func(c *columns) *int { return &c.name },
	"fullname":           func(c *columns) *int { return &c.name },
	"firstname":          func(c *columns) *int { return &c.first },
	"fname":              func(c *columns) *int { return &c.first },
	"first":              func(c *columns) *int { return &c.first },
	"givenname":          func(c *columns) *int { return &c.first },
	"lastname":           func(c *columns) *int { return &c.last },
	"lname":              func(c *columns) *int { return &c.last },
	"last":               func(c *columns) *int { return &c.last },
	"surname":            func(c *columns) *int { return &c.last },
	"familyname":         func(c *columns) *int { return &c.last },
	"status":             func(c *columns) *int { return &c.status },
	"memberstatus":       func(c *columns) *int { return &c.status },
	"state":              func(c *columns) *int { return &c.status },
	"subscriptionstatus": func(c *columns) *int { return &c.status },
	"subscriberstate":    func(c *columns) *int { return &c.status },
	"emaildisabled":      func(c *columns) *int { return &c.disabled },
	"topics":             func(c *columns) *int { return &c.topics },
	"timezone":           func(c *columns) *int { return &c.timeZone },
	"unsubtime":          func(c *columns) *int { return &c.unsubTime },
	"cleantime":          func(c *columns) *int { return &c.cleanTime },
	"consentat":          func(c *columns) *int { return &c.consentAt },
	"consentsource":      func(c *columns) *int { return &c.consentSource },
	"optintime":          func(c *columns) *int { return &c.optinTime },
	"confirmtime":        func(c *columns) *int { return &c.confirmTime },
	"createdat":          func(c *columns) *int { return &c.createdAt },
}

// findColumns maps a header to columns. Names match whatever their case,
// spacing, underscores or hyphens: "Email Address", "email_address" and
// "E-mail" are one name. When two columns match, the first wins.
func findColumns(header []string) (columns, error) {
	c := columns{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, "", len(header)}
	keys := map[string]bool{}
	for i, h := range header {
		k := headerKey(h)
		keys[k] = true
		if col, ok := headerKeys[k]; ok && *col(&c) < 0 {
			*col(&c) = i
		}
	}
	if c.email < 0 {
		return c, fmt.Errorf("%w (want one named email, Email Address or email_address); the header has %s",
			ErrNoEmailColumn, quoteAll(header))
	}
	switch {
	case keys["leid"] || keys["euid"] || keys["memberrating"] || c.optinTime >= 0:
		c.platform = "mailchimp"
	case c.disabled >= 0 || keys["activesubscription"]:
		c.platform = "substack"
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

// isTrue reads a boolean cell the way exports write one.
func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "1":
		return true
	}
	return false
}
