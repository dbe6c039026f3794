// Package roster imports subscribers from CSV files exported by other mailing
// tools (Mailchimp, Substack, ConvertKit, spreadsheets) and exports them as CSV.
//
// Real exports are messy, so the reader sniffs the delimiter, the encoding and
// the column names, and a bad row is skipped with a reason instead of ending
// the import. An import never reactivates someone who left: rows marked
// unsubscribed in the export are skipped, and the store keeps an unsubscribed
// person unsubscribed.
package roster

import (
	"fmt"
	"io"
	"strings"
)

// Options says how an import treats the people it adds.
type Options struct {
	// Confirmed makes new people active at once: the practice vouches for
	// their consent. Otherwise they are pending. A row whose export status is
	// "pending" stays pending either way, since its consent was never confirmed.
	Confirmed bool
	// Topics the people follow. Empty: the file's own topics column if it has
	// one (as Export writes), else ["posts"].
	Topics []string
	// Source is the consent source recorded, e.g. "import:list.csv".
	// Empty: "import".
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
	Rows    int // data rows read, blank ones not counted
	Added   int
	Updated int
	Skipped []Skipped
	Notes   []string // things the operator should know, e.g. "decoded as Windows-1252 ..."
}

// maxShown is how many skipped rows Write lists before it only counts them.
const maxShown = 50

// Write prints the summary for a person: the counts, then up to 50 skipped
// rows with their line numbers and reasons, then the notes.
func (s *Summary) Write(w io.Writer) {
	fmt.Fprintf(w, "added %d, updated %d, skipped %d", s.Added, s.Updated, len(s.Skipped))
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
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// shorten makes a field from a broken row fit on one line of a summary: an
// unclosed quote can swallow the rest of the file into one field.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}
