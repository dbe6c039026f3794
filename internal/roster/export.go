package roster

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// exportPage is how many subscribers Export reads per query.
const exportPage = 1000

var exportHeader = []string{"email", "name", "status", "topics", "time_zone", "consent_source", "consent_at", "created_at"}

// Export writes the subscribers with status (all when empty) to w as CSV, in
// ID order, and returns how many it wrote. Topics are joined by spaces and
// times are RFC 3339 in UTC. Import reads the file back.
func Export(ctx context.Context, db *store.DB, w io.Writer, status string) (int, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(exportHeader); err != nil {
		return 0, fmt.Errorf("write csv: %w", err)
	}
	n := 0
	var after int64
	for {
		subs, err := db.ListSubscribers(ctx, status, after, exportPage)
		if err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
		for _, s := range subs {
			if err := cw.Write(record(s)); err != nil {
				return n, fmt.Errorf("write csv: %w", err)
			}
			n++
		}
		if len(subs) < exportPage {
			break
		}
		after = subs[len(subs)-1].ID
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("write csv: %w", err)
	}
	return n, nil
}

func record(s store.Subscriber) []string {
	return []string{
		escapeCell(s.Email),
		escapeCell(s.Name),
		s.Status,
		strings.Join(s.Topics, " "),
		escapeCell(s.TimeZone),
		escapeCell(s.ConsentSource),
		timeCell(s.ConsentAt),
		timeCell(s.CreatedAt),
	}
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// escapeCell keeps a spreadsheet from running a cell as a formula: names come
// from a public form, and "=HYPERLINK(…)" in one would run when the therapist
// opens the export in Excel. A leading apostrophe makes the cell text there,
// and unescapeCell removes it on import.
func escapeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// unescapeCell undoes escapeCell.
func unescapeCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}
