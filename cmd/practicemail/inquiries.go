package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// The inquiry commands: what the therapist does with the inquiries people
// send through the website. Only `show` ever opens a message, and every
// time it does is recorded.

var inquiryCommands = []command{
	{"list", "[--limit N]", "list the newest inquiries, one a line: id, when, urgent, contact status, sequence\n" +
		"state, views, email and name; never the message", cmdInquiriesList},
	{"show", "ID [--viewer NAME]", "open inquiry ID and print it, message and preferred time included\n\n" +
		"Each view is recorded first, with the time and who looked: --viewer, else $USER.", cmdInquiriesShow},
	{"stop", "EMAIL", "stop the person's follow-up sequences: they get no more follow-up emails", cmdInquiriesStop},
	{"erase", "EMAIL", "forget the person who wrote: their messages are deleted, their sequences stopped, their\n" +
		"contact record anonymised and their follow-ups in the ledger re-addressed; only the record of\n" +
		"who viewed which inquiry is kept", cmdInquiriesErase},
}

func cmdInquiries(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return subcommands(ctx, m, fs, inquiryCommands, args)
}

func cmdInquiriesList(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	limit := fs.Int("limit", 50, "how many inquiries at most, newest first; 0 lists all")
	a, _, err := m.parseAndOpen(ctx, fs, args, needs{}, "")
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.DB.ListInquiries(ctx, *limit)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(m.Stdout, "no inquiries")
		return nil
	}
	const row = "%-6v %-20s %-6s %-12s %-24s %-7s %-5v %-36s %s\n"
	fmt.Fprintf(m.Stdout, row, "ID", "RECEIVED", "URGENT", "STATUS", "SEQUENCE", "MESSAGE", "VIEWS", "EMAIL", "NAME")
	for _, q := range list {
		seq, err := sequenceState(ctx, a.DB, q.ContactID)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, row, q.ID, a.when(q.CreatedAt), yesNo(q.Urgent, "URGENT", "-"), printable(q.ContactStatus),
			seq, yesNo(q.MessageDeleted, "deleted", "sealed"), q.Views, printable(q.Email), printable(q.Name))
	}
	return nil
}

// sequenceState is the contact's latest enrollment as "inquiry:active" or
// "inquiry:stopped(booked)"; "-" when never enrolled.
func sequenceState(ctx context.Context, db *store.DB, contactID int64) (string, error) {
	es, err := db.EnrollmentStates(ctx, contactID)
	if err != nil || len(es) == 0 {
		return "-", err
	}
	e := es[len(es)-1]
	s := printable(e.Sequence) + ":" + e.State
	if e.StopReason != "" {
		s += "(" + e.StopReason + ")"
	}
	return s, nil
}

func cmdInquiriesShow(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	viewerFlag := fs.String("viewer", "", "who is looking, recorded with the view [$USER]")
	configPath, rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("usage: practicemail inquiries show ID [--viewer NAME]")
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil || id <= 0 {
		return usageError{fmt.Errorf("inquiry ID must be a number from `inquiries list` (got %q)", rest[0])}
	}
	viewer, err := m.viewer(*viewerFlag)
	if err != nil {
		return err
	}
	a, err := m.open(ctx, configPath, needs{})
	if err != nil {
		return err
	}
	defer a.Close()
	s, err := a.sealer()
	if err != nil {
		return err
	}
	q, err := a.DB.Inquiry(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no inquiry %d (`practicemail inquiries list` shows them)", id)
	}
	if err != nil {
		return err
	}
	// Recorded before anything is opened: no view goes unrecorded.
	if err := a.DB.RecordView(ctx, id, viewer); err != nil {
		return err
	}
	msg, pref, err := openInquiry(s, q)
	if err != nil {
		return err
	}
	return a.writeInquiry(ctx, m.Stdout, q, msg, pref, viewer)
}

// opener opens a sealed field (internal/seal.Sealer).
type opener interface {
	Open(sealed, ad []byte) ([]byte, error)
}

// openInquiry opens the message and preferred time of q; both are empty
// once retention or erasure deleted them. The error names the field, never
// its bytes.
func openInquiry(s opener, q *store.Inquiry) (msg, pref string, err error) {
	if q.Message != nil {
		b, err := s.Open(q.Message, store.InquiryAD(q.ID, store.FieldMessage))
		if err != nil {
			return "", "", fmt.Errorf("inquiry %d: message: %w", q.ID, err)
		}
		msg = string(b)
	}
	if q.PreferredTime != nil {
		b, err := s.Open(q.PreferredTime, store.InquiryAD(q.ID, store.FieldPreferredTime))
		if err != nil {
			return "", "", fmt.Errorf("inquiry %d: preferred time: %w", q.ID, err)
		}
		pref = string(b)
	}
	return msg, pref, nil
}

// writeInquiry prints an opened inquiry for the therapist.
func (a *App) writeInquiry(ctx context.Context, w io.Writer, q *store.Inquiry, msg, pref, viewer string) error {
	seq, err := sequenceState(ctx, a.DB, q.Contact.ID)
	if err != nil {
		return err
	}
	c := q.Contact
	fmt.Fprintf(w, "inquiry %d, received %s%s\n", q.ID, a.when(q.CreatedAt), yesNo(q.Urgent, " — URGENT: it may speak of a crisis", ""))
	fmt.Fprintf(w, "  name:           %s\n  email:          %s\n", printable(c.Name), printable(c.Email))
	fmt.Fprintf(w, "  phone:          %s\n  time zone:      %s\n", orDash(printable(c.Phone)), orDash(printable(c.TimeZone)))
	fmt.Fprintf(w, "  follow-ups:     %s; status %s; sequence %s\n", yesNo(c.Consent, "consented", "no consent"), printable(c.Status), seq)
	if !q.MessageDeletedAt.IsZero() {
		fmt.Fprintf(w, "  message:        deleted %s (retention or erasure)\n", a.when(q.MessageDeletedAt))
	} else {
		fmt.Fprintf(w, "  preferred time: %s\n\n%s\n\n", orDash(printable(pref)), printableText(msg))
	}
	fmt.Fprintf(w, "(this view is recorded: %s, %s)\n", printable(viewer), a.when(a.DB.Now()))
	return nil
}

func cmdInquiriesStop(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	a, email, err := m.parseAndOpen(ctx, fs, args, needs{}, "practicemail inquiries stop EMAIL")
	if err != nil {
		return err
	}
	defer a.Close()
	c, err := a.contact(ctx, email)
	if err != nil {
		return err
	}
	n, err := a.DB.StopEnrollments(ctx, c.Email, store.ContactStopped)
	if err != nil {
		return err
	}
	switch {
	case n > 0:
		fmt.Fprintf(m.Stdout, "%s: stopped %s; no more follow-ups\n", printable(c.Email), count(n, "sequence"))
	default:
		fmt.Fprintf(m.Stdout, "%s: no sequence was running (status %s); none will start\n", printable(c.Email), printable(c.Status))
	}
	return nil
}

func cmdInquiriesErase(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	a, email, err := m.parseAndOpen(ctx, fs, args, needs{}, "practicemail inquiries erase EMAIL")
	if err != nil {
		return err
	}
	defer a.Close()
	c, err := a.contact(ctx, email)
	if err != nil {
		return err
	}
	// Counted first: what is held is what the report says was erased.
	list, err := a.DB.ListInquiries(ctx, 0)
	if err != nil {
		return err
	}
	inquiries := 0
	for _, q := range list {
		if q.ContactID == c.ID {
			inquiries++
		}
	}
	es, err := a.DB.EnrollmentStates(ctx, c.ID)
	if err != nil {
		return err
	}
	active := 0
	for _, e := range es {
		if e.State == store.EnrollmentActive {
			active++
		}
	}
	if err := a.DB.EraseContact(ctx, c.Email); err != nil {
		return err
	}
	w := m.Stdout
	fmt.Fprintf(w, "erased contact %d (%s):\n", c.ID, printable(c.Email))
	fmt.Fprintf(w, "  deleted: the message and preferred time of %s\n", count(inquiries, "inquiry"))
	fmt.Fprintf(w, "  stopped: %s\n", count(active, "running sequence"))
	fmt.Fprintln(w, "  removed: the address, name, phone and time zone; the row is kept as \"erased\"")
	fmt.Fprintln(w, "  re-addressed: their follow-up emails in the ledger, to \"erased:contact:ID\"")
	fmt.Fprintln(w, "  kept: who viewed which inquiry and when")
	return nil
}

// contact is the contact with email, or an error saying there is none.
func (a *App) contact(ctx context.Context, email string) (*store.Contact, error) {
	c, err := a.DB.ContactByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no inquiry came from %s (or they were erased)", email)
	}
	return c, err
}

// viewer is who runs `inquiries show`: the flag, else $USER, else the
// operating system's name for the current user.
func (m *Main) viewer(flagValue string) (string, error) {
	if v := strings.TrimSpace(flagValue); v != "" {
		return v, nil
	}
	for _, kv := range m.Env {
		if v, ok := strings.CutPrefix(kv, "USER="); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), nil
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, nil
	}
	return "", errors.New("say who is looking with --viewer NAME: each view of an inquiry is recorded")
}

// when is t in the practice's time zone, to the minute.
func (a *App) when(t time.Time) string {
	return t.In(a.Config.Practice.Location).Format("2006-01-02 15:04 MST")
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printableText keeps a message's line breaks and tabs and escapes every
// other control character, so that a message cannot drive the terminal.
func printableText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		parts := strings.Split(l, "\t")
		for j, p := range parts {
			parts[j] = printable(p)
		}
		lines[i] = strings.Join(parts, "\t")
	}
	return strings.Join(lines, "\n")
}
