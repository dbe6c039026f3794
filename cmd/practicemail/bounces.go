package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/practicemail/practicemail/internal/bounce"
	"github.com/practicemail/practicemail/internal/store"
)

var bounceCommands = []command{
	{"ingest", "[FILE.eml|-]",
		"record the bounces or complaint in one report: an RFC 3464 delivery status notification\n" +
			"(multipart/report; report-type=delivery-status) or an ARF feedback report, as a mail server\n" +
			"sends them back; read from FILE, or standard input when FILE is - or absent, so that an MTA's\n" +
			"pipe or a mailbox rule can hand it over. A hard bounce or a complaint suppresses the address\n" +
			"at once, a soft bounce after 3 within 30 days, and stops the follow-ups of someone who wrote\n" +
			"through the inquiry form. A report about nobody on the list is said and ignored (exit 0); a\n" +
			"message that is not a report is an error (`mail ingest` takes any message).", cmdBouncesIngest},
}

func cmdBounces(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return subcommands(ctx, m, fs, bounceCommands, args)
}

func cmdBouncesIngest(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	configPath, rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usageError{fmt.Errorf("bounces ingest reads one report; got %d files", len(rest))}
	}
	name, in, err := m.reportInput(rest)
	if err != nil {
		return err
	}
	defer in.Close()
	// Parsed before the database is opened: a file that is not a report
	// changes nothing and opens nothing.
	reports, err := bounce.Parse(in)
	if errors.Is(err, bounce.ErrNotReport) {
		return fmt.Errorf("%s is not a delivery status or feedback report (multipart/report): nothing recorded", name)
	}
	if err != nil {
		return fmt.Errorf("%s: unreadable report: %w", name, err)
	}
	if len(reports) == 0 {
		fmt.Fprintf(m.Stdout, "%s: no failed or delayed recipient in the report: nothing to record\n", name)
		return nil
	}
	return m.recordReports(ctx, configPath, reports)
}

// recordReports records the reports of one bounce or complaint report,
// saying for each what it did; `bounces ingest` and `mail ingest` share
// it. A hard bounce, a soft one that suppressed the subscriber, or a
// complaint also stops the person's follow-up sequences if they wrote
// through the inquiry form: bounced, or for a complaint unsubscribed.
func (m *Main) recordReports(ctx context.Context, configPath string, reports []bounce.Report) error {
	a, err := m.open(ctx, configPath, needs{})
	if err != nil {
		return err
	}
	defer a.Close()
	for _, r := range reports {
		res, err := a.DB.RecordBounce(ctx, store.Bounce{Email: r.Email, Type: r.Type, Status: r.Status,
			Reason: r.Reason, Source: bounceSource(r), MessageID: r.MessageID})
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%s: %s: %s\n", printable(r.Email), describeReport(r), bounceVerdict(res))
		if err := stopBouncedContact(ctx, a.DB, m.Stdout, r, res.Suppressed); err != nil {
			return err
		}
	}
	return nil
}

// stopBouncedContact stops the sequences of a contact whose address
// bounced hard (or softly often enough to suppress the subscriber with
// it: suppressed) or who complained, and says so when any ran.
func stopBouncedContact(ctx context.Context, db *store.DB, w io.Writer, r bounce.Report, suppressed bool) error {
	var reason string
	switch {
	case r.Type == bounce.Complaint:
		reason = store.ContactUnsubscribed
	case r.Type == bounce.Hard, suppressed:
		reason = store.ContactBounced
	default:
		return nil
	}
	n, err := db.StopEnrollments(ctx, r.Email, reason)
	if err != nil && !errors.Is(err, store.ErrInvalidEmail) {
		return err
	}
	if n > 0 {
		fmt.Fprintf(w, "%s: %s stopped (%s)\n", printable(r.Email), count(n, "follow-up sequence"), reason)
	}
	return nil
}

// reportInput opens the named file, or standard input for "-" or none.
func (m *Main) reportInput(rest []string) (string, io.ReadCloser, error) {
	if len(rest) == 0 || rest[0] == "-" {
		if m.Stdin == nil {
			return "", nil, errors.New("no report on standard input")
		}
		return "standard input", io.NopCloser(m.Stdin), nil
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return "", nil, err
	}
	return rest[0], f, nil
}

func bounceSource(r bounce.Report) string {
	if r.Type == bounce.Complaint {
		return "arf"
	}
	return "dsn"
}

func describeReport(r bounce.Report) string {
	s := r.Type
	if r.Status != "" {
		s += " " + r.Status
	}
	return s
}

// bounceVerdict says what recording a report did.
func bounceVerdict(res store.BounceResult) string {
	switch {
	case !res.Matched:
		return "matched nobody: ignored"
	case res.Suppressed:
		return fmt.Sprintf("subscriber %d suppressed (%s)", res.SubscriberID, res.Status)
	case res.SoftCount > 0:
		return fmt.Sprintf("subscriber %d: soft bounce %d of %d within %d days", res.SubscriberID, res.SoftCount,
			store.SoftBounceLimit, int(store.SoftBounceWindow.Hours()/24))
	}
	return fmt.Sprintf("subscriber %d: recorded (%s)", res.SubscriberID, res.Status)
}
