package compose

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/practicemail/practicemail/sequences"
)

// maxSubject is the longest subject accepted, in characters. Inboxes show
// far fewer; the limit is against a pasted paragraph, not a style rule.
const maxSubject = 200

// screen finds the conditions and treatments a subject must not name.
var screen = sequences.DefaultScreen()

// CheckSubject checks a campaign's subject as sequence subjects are
// checked: one line of text, not too long, naming no condition or
// treatment (sequences.DefaultTerms), because whoever glances at the
// recipient's inbox or lock screen reads it.
func CheckSubject(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("compose: the subject is empty")
	}
	if !utf8.ValidString(s) {
		return errors.New("compose: the subject is not valid UTF-8")
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return errors.New("compose: the subject must be one line, without control characters")
	}
	if n := utf8.RuneCountInString(s); n > maxSubject {
		return fmt.Errorf("compose: the subject has %d characters; at most %d", n, maxSubject)
	}
	if term, found := screen.Find(s); found {
		return fmt.Errorf("compose: the subject names %q; a subject must not name a condition or treatment (it shows in the inbox)", term)
	}
	return nil
}
