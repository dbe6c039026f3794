package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/practicemail/practicemail/internal/roster"
	"github.com/practicemail/practicemail/internal/store"
)

// The data-rights commands: what a person may ask of the practice about
// the data it holds on them (a copy of it, GDPR article 15; to be
// forgotten, article 17).

const exportHelp = "write everything held about everyone, or about the person with EMAIL, to standard output\n\n" +
	"Each person: their subscriber record with its consent (source, page, IP, time), their topics,\n" +
	"their sign-up requests, their bounces and every email meant for them (kind, source, state,\n" +
	"times). CSV by default: one row a person, whose signups, bounces and deliveries columns hold\n" +
	"JSON arrays; `subscribers import` reads the file back. --json writes JSON instead: an array of\n" +
	"people, or the one person. Erased people are not there: nothing is held of them but a keyed\n" +
	"hash of their address."

const eraseHelp = "forget the person with EMAIL, as they may ask (from their preferences page too)\n\n" +
	"Their name, address, time zone, consent record and topics are removed and their row kept only as\n" +
	"\"erased:ID\"; every email the ledger holds for them is re-addressed to a keyed hash; their\n" +
	"sign-ups lose the page and IP. Only the keyed hash of the address (HMAC with secrets.link_key) is\n" +
	"kept, in suppressions, so the address is never mailed again, nor brought back by an import,\n" +
	"until the person subscribes anew and confirms. Keep secrets.link_key: with another key, erased\n" +
	"addresses are no longer recognised."

func cmdSubscribersExport(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	status := statusFlag(fs)
	asJSON := fs.Bool("json", false, "write JSON instead of CSV")
	configPath, rest, err := parse(fs, args)
	switch {
	case err != nil:
		return err
	case len(rest) > 1:
		return usageError{fmt.Errorf("unexpected argument %q: export takes one EMAIL at most", rest[1])}
	case len(rest) == 1 && *status != "":
		return usageError{errors.New("--status is for the export of everyone, not of one EMAIL")}
	}
	a, err := m.open(ctx, configPath, needs{})
	if err != nil {
		return err
	}
	defer a.Close()
	if len(rest) == 1 {
		return exportPerson(ctx, a, m.Stdout, rest[0], *asJSON)
	}
	if *asJSON {
		return exportJSON(ctx, a.DB, m.Stdout, *status)
	}
	_, err = roster.Export(ctx, a.DB, m.Stdout, *status)
	return err
}

// exportPerson writes everything held about the person with email.
func exportPerson(ctx context.Context, a *App, w io.Writer, email string, asJSON bool) error {
	p, err := a.DB.ExportPerson(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return a.nobody(ctx, email)
	}
	if err != nil {
		return err
	}
	if asJSON {
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	pw, err := roster.NewPeopleWriter(w)
	if err != nil {
		return err
	}
	if err := pw.Write(p); err != nil {
		return err
	}
	return pw.Flush()
}

// nobody is the error for an address no subscriber has: it says whether
// the address was erased, which the keyed hash can tell.
func (a *App) nobody(ctx context.Context, email string) error {
	key, err := a.linkKey()
	if err != nil {
		return err
	}
	erased, err := a.DB.IsErased(ctx, email, key)
	if err != nil {
		return err
	}
	if erased {
		return fmt.Errorf("%s was erased: nothing is held about them but a keyed hash of the address", email)
	}
	return fmt.Errorf("no subscriber has the address %s", email)
}

// exportJSON writes everyone with status (all when empty) as one JSON
// array, a person at a time, so that a large list is never held whole.
func exportJSON(ctx context.Context, db *store.DB, w io.Writer, status string) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	n := 0
	err := db.ExportPeople(ctx, func(p *store.Person) error {
		if status != "" && p.Status != status {
			return nil
		}
		b, err := json.MarshalIndent(p, "  ", "  ")
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteString(",")
		}
		n++
		bw.WriteString("\n  ")
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if n > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

func cmdSubscribersErase(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	a, email, err := m.parseAndOpen(ctx, fs, args, needs{}, "practicemail subscribers erase EMAIL")
	if err != nil {
		return err
	}
	defer a.Close()
	key, err := a.linkKey()
	if err != nil {
		return err
	}
	// What is held, read first, is what the report counts.
	p, err := a.DB.ExportPerson(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		erased, err := a.DB.IsErased(ctx, email, key)
		if err != nil || !erased {
			return cmp.Or(err, fmt.Errorf("no subscriber has the address %s", email))
		}
		fmt.Fprintf(m.Stdout, "%s was already erased: nothing is held but a keyed hash of the address\n", email)
		return nil
	}
	if err != nil {
		return err
	}
	if err := a.DB.EraseSubscriberID(ctx, p.ID, key); err != nil {
		return err
	}
	writeErased(m.Stdout, p)
	return nil
}

// writeErased says what erasing p did.
func writeErased(w io.Writer, p *store.Person) {
	fmt.Fprintf(w, "erased subscriber %d (%s), who was %s:\n", p.ID, p.Email, p.Status)
	fmt.Fprintf(w, "  removed: the address, name, time zone, consent record and %s\n", count(len(p.Topics), "topic"))
	fmt.Fprintf(w, "  re-addressed to a keyed hash: %s in the ledger\n", count(len(p.Deliveries), "email"))
	fmt.Fprintf(w, "  page and IP cleared: %s; any mention of the address removed from %s\n",
		count(len(p.Signups), "sign-up"), count(len(p.Bounces), "bounce"))
	fmt.Fprintln(w, "  kept: the keyed hash in suppressions: never mailed again unless they subscribe anew and confirm")
}

// count is "1 topic" or "3 topics".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
