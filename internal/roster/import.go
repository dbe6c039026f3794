package roster

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// progressEvery is how many rows pass between calls to Options.Progress.
const progressEvery = 500

// maxEmailLen is the longest address SMTP can carry (RFC 5321's path limit
// less its angle brackets).
const maxEmailLen = 254

// Import reads a CSV file with a header row and adds or updates a subscriber
// for each data row. A bad row is skipped and reported in the summary; it
// never ends the import. The error is for input that cannot be read at all, a
// header without an email column (then nothing is imported), and database
// errors, with which Import stops and returns the summary so far.
func Import(ctx context.Context, db *store.DB, r io.Reader, o Options) (*Summary, error) {
	if err := store.CheckTopics(o.Topics); err != nil {
		return nil, err
	}
	if o.Source == "" {
		o.Source = "import"
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	text, note, err := decode(b)
	if err != nil {
		return nil, err
	}
	header, rows, err := parse(text)
	if err != nil {
		return nil, err
	}
	cols, err := findColumns(header)
	if err != nil {
		return nil, err
	}
	im := &importer{db: db, o: o, cols: cols, seen: map[string]int{}, sum: &Summary{Rows: len(rows)}}
	if note != "" {
		im.sum.Notes = append(im.sum.Notes, note)
	}
	for i, rw := range rows {
		if err := im.add(ctx, rw); err != nil {
			return im.sum, err
		}
		if done := i + 1; o.Progress != nil && done%progressEvery == 0 && done < len(rows) {
			o.Progress(done, len(rows))
		}
	}
	if err := im.flush(ctx); err != nil {
		return im.sum, err
	}
	if o.Progress != nil {
		o.Progress(len(rows), len(rows))
	}
	im.finish()
	return im.sum, nil
}

// importer carries one import's state from row to row.
type importer struct {
	db   *store.DB
	o    Options
	cols columns
	seen map[string]int // normalised address → line of its first row
	sum  *Summary

	stayed   int // existing people whose status the store kept unsubscribed, bounced or complained
	badTZ    int // time zones dropped because they are unknown
	badTimes int // consent times the file has but that could not be read
	erased   int // addresses skipped because their people were erased

	batch []store.NewSubscriber // good rows waiting to be written
	lines []int                 // their line numbers
	whys  []string              // why each is suppressed, when the file says so
}

// batchSize is how many people one transaction writes.
const batchSize = 500

func (im *importer) add(ctx context.Context, rw row) error {
	raw := field(rw.fields, im.cols.email)
	email, name, reason := im.check(rw, raw)
	if reason != "" {
		im.sum.Skipped = append(im.sum.Skipped, Skipped{Line: rw.line, Email: raw, Reason: reason})
		return nil
	}
	v := im.cols.judge(rw.fields)
	if v.skip != "" {
		im.sum.Skipped = append(im.sum.Skipped, Skipped{Line: rw.line, Email: raw, Reason: v.skip})
		return nil
	}
	n, reason := im.subscriber(rw.fields, email, name, v)
	if reason != "" {
		im.sum.Skipped = append(im.sum.Skipped, Skipped{Line: rw.line, Email: raw, Reason: reason})
		return nil
	}
	im.batch = append(im.batch, n)
	im.lines = append(im.lines, rw.line)
	im.whys = append(im.whys, v.why)
	if len(im.batch) >= batchSize {
		return im.flush(ctx)
	}
	return nil
}

// flush writes the waiting rows in one transaction and counts the results.
func (im *importer) flush(ctx context.Context) error {
	if len(im.batch) == 0 {
		return nil
	}
	results, err := im.db.AddSubscribers(ctx, im.batch)
	if err != nil {
		return fmt.Errorf("import lines %d-%d: %w", im.lines[0], im.lines[len(im.lines)-1], err)
	}
	for i, res := range results {
		switch {
		case res.Status == store.StatusErased:
			im.sum.Skipped = append(im.sum.Skipped, Skipped{Line: im.lines[i], Email: im.batch[i].Email, Reason: ReasonErased})
			im.erased++
			continue
		case im.whys[i] != "":
			if im.sum.Suppressed == nil {
				im.sum.Suppressed = map[string]int{}
			}
			im.sum.Suppressed[im.whys[i]]++
			continue
		case res.Created:
			im.sum.Added++
		default:
			im.sum.Updated++
		}
		if store.Suppressed(res.Status) {
			im.stayed++
		}
	}
	im.batch, im.lines, im.whys = im.batch[:0], im.lines[:0], im.whys[:0]
	return nil
}

// check returns the row's normalised address and the name written with it
// ("Jane Doe <jane@example.com>"), or why the row is skipped.
func (im *importer) check(rw row, raw string) (email, name, reason string) {
	switch {
	case rw.err != nil:
		return "", "", "unreadable row: " + rw.err.Error()
	case im.cols.email >= len(rw.fields):
		return "", "", fmt.Sprintf("no email field: the row has %d fields, the header %d", len(rw.fields), im.cols.width)
	case raw == "":
		return "", "", "no email address"
	case len(raw) > maxEmailLen:
		return "", "", fmt.Errorf("%w: longer than %d characters", store.ErrInvalidEmail, maxEmailLen).Error()
	}
	name, email, err := store.SplitAddress(raw)
	if err != nil {
		if len(rw.fields) != im.cols.width {
			return "", "", fmt.Sprintf("%v (the row has %d fields, the header %d)", err, len(rw.fields), im.cols.width)
		}
		return "", "", err.Error()
	}
	if first, ok := im.seen[email]; ok {
		return "", "", fmt.Sprintf("duplicate of line %d", first)
	}
	im.seen[email] = rw.line
	return email, name, ""
}

// subscriber builds what the store needs from a checked row, or says why
// the row is skipped.
func (im *importer) subscriber(rec []string, email, addrName string, v verdict) (store.NewSubscriber, string) {
	name := field(rec, im.cols.name)
	if name == "" {
		name = field(rec, im.cols.first) + " " + field(rec, im.cols.last)
	}
	if name = store.CleanName(name); name == "" {
		name = addrName
	}
	topics := im.o.Topics
	if len(topics) == 0 {
		topics = strings.FieldsFunc(strings.ToLower(field(rec, im.cols.topics)), func(r rune) bool {
			return r == ' ' || r == ','
		})
		if err := store.CheckTopics(topics); err != nil {
			return store.NewSubscriber{}, err.Error()
		}
	}
	consentAt, unreadable := im.cols.consent(rec)
	if unreadable {
		im.badTimes++
	}
	return store.NewSubscriber{
		Email:         email,
		Name:          name,
		Topics:        topics,
		Confirmed:     im.o.Confirmed && !v.pending,
		TimeZone:      im.timeZone(field(rec, im.cols.timeZone)),
		ConsentSource: im.cols.source(rec, im.o.Source),
		ConsentAt:     consentAt,
		Suppressed:    v.suppressed,
		SuppressedAt:  v.at,
	}, ""
}

// timeZone returns tz if it names a known IANA zone, else "".
func (im *importer) timeZone(tz string) string {
	if tz == "" {
		return ""
	}
	if _, err := time.LoadLocation(tz); err != nil || strings.EqualFold(tz, "local") {
		im.badTZ++
		return ""
	}
	return tz
}

// ReasonErased is the Skipped.Reason of an address whose person asked to
// be forgotten: an import never brings them back, only their own new
// confirmation does.
const ReasonErased = "erased"

func (im *importer) finish() {
	// Erased rows are found when their batch is written, after rows
	// skipped later in the file: the summary lists them all in file order.
	slices.SortStableFunc(im.sum.Skipped, func(a, b Skipped) int { return cmp.Compare(a.Line, b.Line) })
	if im.erased > 0 {
		im.sum.Notes = append(im.sum.Notes, fmt.Sprintf(
			"%d erased people skipped: they asked to be forgotten, and only their own new sign-up and confirmation brings them back", im.erased))
	}
	if im.stayed > 0 {
		im.sum.Notes = append(im.sum.Notes, fmt.Sprintf(
			"%d of the updated people had unsubscribed, bounced or complained before and stay so", im.stayed))
	}
	if im.badTimes > 0 {
		im.sum.Notes = append(im.sum.Notes, fmt.Sprintf(
			"%d opt-in times could not be read: the import time is their consent time", im.badTimes))
	}
	if im.badTZ > 0 {
		im.sum.Notes = append(im.sum.Notes, fmt.Sprintf("%d unknown time zones left empty", im.badTZ))
	}
}
