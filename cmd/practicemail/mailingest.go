package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"github.com/practicemail/practicemail/internal/bounce"
	"github.com/practicemail/practicemail/internal/store"
)

var mailCommands = []command{
	{"ingest", "[FILE.eml|-]",
		"handle one message sent back to the practice, as a mailbox rule or an MTA's pipe hands it over;\n" +
			"read from FILE, or standard input when FILE is - or absent\n\n" +
			"A delivery status notification (RFC 3464) or an ARF complaint is recorded as `bounces ingest`\n" +
			"does. Otherwise it is a reply: when its From is someone who wrote through the inquiry form, their\n" +
			"follow-up sequences stop (replied). Automatic replies (Auto-Submitted other than no,\n" +
			"X-Autoreply, Precedence bulk, list, auto_reply or junk) stop nothing. Anything else is said and\n" +
			"ignored, exit 0; only a failure to record (the database) is an error, so that the MTA retries.",
		cmdMailIngest},
}

func cmdMail(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return subcommands(ctx, m, fs, mailCommands, args)
}

// maxIngest caps how much of a message is read: bounce.Parse reads no
// more, and a reply's headers are all that is used.
const maxIngest = 10 << 20

func cmdMailIngest(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	configPath, rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usageError{fmt.Errorf("mail ingest reads one message; got %d files", len(rest))}
	}
	name, in, err := m.reportInput(rest)
	if err != nil {
		return err
	}
	defer in.Close()
	raw, err := io.ReadAll(io.LimitReader(in, maxIngest))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	reports, err := bounce.Parse(bytes.NewReader(raw))
	switch {
	case errors.Is(err, bounce.ErrNotReport):
		return m.ingestReply(ctx, configPath, name, raw)
	case err != nil:
		fmt.Fprintf(m.Stdout, "%s: a report that cannot be read (%v): ignored\n", name, err)
		return nil
	case len(reports) == 0:
		fmt.Fprintf(m.Stdout, "%s: no failed or delayed recipient in the report: nothing to record\n", name)
		return nil
	}
	return m.recordReports(ctx, configPath, reports)
}

// ingestReply stops the sequences of the person a reply is from, unless
// it is an automatic reply. Only the headers are read: the body is the
// person's private words and goes nowhere.
func (m *Main) ingestReply(ctx context.Context, configPath, name string, raw []byte) error {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		fmt.Fprintf(m.Stdout, "%s: not an email (%v): ignored\n", name, err)
		return nil
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) == 0 {
		fmt.Fprintf(m.Stdout, "%s: no readable From: ignored\n", name)
		return nil
	}
	addr, err := store.NormalizeEmail(from[0].Address)
	if err != nil {
		fmt.Fprintf(m.Stdout, "%s: From is not a usable address: ignored\n", name)
		return nil
	}
	email := printable(addr)
	if why := autoReply(msg.Header); why != "" {
		fmt.Fprintf(m.Stdout, "%s: an automatic reply (%s): ignored, no sequence stopped\n", email, why)
		return nil
	}
	a, err := m.open(ctx, configPath, needs{})
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.DB.StopEnrollments(ctx, addr, store.ContactReplied)
	switch {
	case err != nil:
		return err
	case n > 0:
		fmt.Fprintf(m.Stdout, "%s replied: %s stopped\n", email, count(n, "follow-up sequence"))
	default:
		fmt.Fprintf(m.Stdout, "%s: no follow-up sequence is running for this address: ignored\n", email)
	}
	return nil
}

// autoReply says why a message is an automatic reply (RFC 3834's
// Auto-Submitted, and the older headers vacation responders still send),
// or "" for one a person wrote.
func autoReply(h mail.Header) string {
	if v := strings.TrimSpace(h.Get("Auto-Submitted")); v != "" {
		kind, _, _ := strings.Cut(v, ";")
		if !strings.EqualFold(strings.TrimSpace(kind), "no") {
			return "Auto-Submitted: " + printable(v)
		}
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond"} {
		if _, ok := h[k]; ok {
			return k
		}
	}
	switch p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p {
	case "bulk", "auto_reply", "junk", "list":
		return "Precedence: " + p
	}
	return ""
}
