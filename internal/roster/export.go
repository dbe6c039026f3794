package roster

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// exportHeader is Export's columns: first those Import reads back, then the
// rest of what is held about each person. signups, bounces and deliveries
// hold a JSON array each (the fields of store.SignupRecord, BounceRecord
// and DeliveryRecord), so that one row stays one person.
var exportHeader = []string{"email", "name", "status", "topics", "time_zone", "consent_source", "consent_at", "created_at",
	"id", "consent_page", "consent_ip", "confirmed_at", "unsubscribed_at", "updated_at", "bounce_count",
	"weekly_digest", "signups", "bounces", "deliveries"}

// Export writes everything held about the people with status (all when
// empty) to w as CSV, in ID order, and returns how many it wrote. Topics
// are joined by spaces and times are RFC 3339 in UTC. Erased people are
// not there: nothing of theirs is left but a keyed hash. Import reads the
// file back.
func Export(ctx context.Context, db *store.DB, w io.Writer, status string) (int, error) {
	if err := store.CheckStatus(status); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	pw, err := NewPeopleWriter(w)
	if err != nil {
		return 0, err
	}
	n := 0
	err = db.ExportPeople(ctx, func(p *store.Person) error {
		if status != "" && p.Status != status {
			return nil
		}
		n++
		return pw.Write(p)
	})
	if err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, pw.Flush()
}

// PeopleWriter writes people as Export does, one row each after a header.
type PeopleWriter struct{ cw *csv.Writer }

// NewPeopleWriter writes the header to w and returns a writer of rows.
func NewPeopleWriter(w io.Writer) (*PeopleWriter, error) {
	pw := &PeopleWriter{csv.NewWriter(w)}
	if err := pw.cw.Write(exportHeader); err != nil {
		return nil, fmt.Errorf("write csv: %w", err)
	}
	return pw, nil
}

// Write writes p's row.
func (pw *PeopleWriter) Write(p *store.Person) error {
	rec, err := record(p)
	if err != nil {
		return err
	}
	if err := pw.cw.Write(rec); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// Flush writes what is buffered and reports any error writing.
func (pw *PeopleWriter) Flush() error {
	pw.cw.Flush()
	if err := pw.cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func record(p *store.Person) ([]string, error) {
	lists := make([]string, 3)
	for i, v := range []any{p.Signups, p.Bounces, p.Deliveries} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("export %d: %w", p.ID, err)
		}
		lists[i] = string(b)
	}
	return []string{
		escapeCell(p.Email),
		escapeCell(p.Name),
		p.Status,
		strings.Join(p.Topics, " "),
		escapeCell(p.TimeZone),
		escapeCell(p.ConsentSource),
		timeCell(p.ConsentAt),
		timeCell(p.CreatedAt),
		strconv.FormatInt(p.ID, 10),
		escapeCell(p.ConsentPage),
		escapeCell(p.ConsentIP),
		timeCell(p.ConfirmedAt),
		timeCell(p.UnsubscribedAt),
		timeCell(p.UpdatedAt),
		strconv.Itoa(p.BounceCount),
		strconv.FormatBool(p.WeeklyDigest),
		lists[0], lists[1], lists[2],
	}, nil
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
