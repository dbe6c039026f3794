// Package roster imports subscribers from CSV files exported by other mailing
// tools (Mailchimp, Substack, ConvertKit, spreadsheets) and exports them as CSV.
//
// Real exports are messy, so the reader sniffs the delimiter, the encoding and
// the column names, and a bad row is skipped with a reason instead of ending
// the import. An import never reactivates someone who left: people the file
// says unsubscribed, bounced or complained (a status column, Mailchimp's
// UNSUB_TIME and CLEAN_TIME, Substack's email_disabled) are recorded as
// suppressed whatever the options say, and the store keeps a suppressed
// person suppressed. The file's own opt-in time and source are kept as the
// consent record.
package roster

import (
	"fmt"
	"io"
	"sort"

	"github.com/practicemail/practicemail/internal/store"
)

// Options says how an import treats the people it adds.
type Options struct {
	// Confirmed makes new people active at once: the practice vouches for
	// their consent. Otherwise they are pending. A row whose export status is
	// "pending" stays pending either way, since its consent was never
	// confirmed, and one the file says left is suppressed either way.
	Confirmed bool
	// Topics the people follow. Empty: the file's own topics column if it has
	// one (as Export writes), else ["posts"].
	Topics []string
	// Source is the consent source recorded, e.g. "import:list.csv", when
	// the file has no consent_source column. Empty: "import".
	Source string
	// Progress, if set, is called every 500 rows and once at the end with
	// done == total, where total is the number of data rows.
	Progress func(done, total int)
}

// Skipped is a row that was not imported, and why.
type Skipped struct {
	Line   int    // line in the file where the row starts
	Email  string // the address as written, possibly empty
	Reason string
}

// Summary says what an import did.
type Summary struct {
	Rows       int // data rows read, blank ones not counted
	Added      int
	Updated    int
	Suppressed map[string]int // people recorded as suppressed, by why: "unsubscribed in the file"
	Skipped    []Skipped
	Notes      []string // things the operator should know, e.g. "decoded as Windows-1252 ..."
}

// maxShown is how many skipped rows Write lists before it only counts them.
const maxShown = 50

// Write prints the summary for a person: the counts, then up to 50 skipped
// rows with their line numbers and reasons, then the people suppressed
// because the file says they left, then the notes.
func (s *Summary) Write(w io.Writer) {
	fmt.Fprintf(w, "added %d, updated %d", s.Added, s.Updated)
	whys, suppressed := make([]string, 0, len(s.Suppressed)), 0
	for why, n := range s.Suppressed {
		whys, suppressed = append(whys, why), suppressed+n
	}
	sort.Strings(whys)
	if suppressed > 0 {
		fmt.Fprintf(w, ", suppressed %d", suppressed)
	}
	fmt.Fprintf(w, ", skipped %d", len(s.Skipped))
	if len(s.Skipped) > 0 {
		fmt.Fprint(w, ":")
	}
	fmt.Fprintln(w)
	for _, k := range s.Skipped[:min(len(s.Skipped), maxShown)] {
		if k.Email == "" {
			fmt.Fprintf(w, "  line %d: %s\n", k.Line, k.Reason)
			continue
		}
		fmt.Fprintf(w, "  line %d: %s: %s\n", k.Line, shorten(k.Email), k.Reason)
	}
	if n := len(s.Skipped) - maxShown; n > 0 {
		fmt.Fprintf(w, "  ... and %d more\n", n)
	}
	for _, why := range whys {
		fmt.Fprintf(w, "suppressed (%s): %d\n", why, s.Suppressed[why])
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// shorten makes a field from a broken row fit on one line of a summary: an
// unclosed quote can swallow the rest of the file into one field.
// It prints no control character: a file can hold an escape sequence.
func shorten(s string) string {
	s = store.CleanName(s)
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}
