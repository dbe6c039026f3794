package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/practicemail/practicemail/internal/roster"
	"github.com/practicemail/practicemail/internal/store"
)

var subscriberCommands = []command{
	{"add", "EMAIL [--name N] [--topics posts,news] [--confirmed]",
		`add a person, or update their name and topics; EMAIL may be "Jane Doe <jane@example.com>"`, cmdSubscribersAdd},
	{"import", "FILE.csv [--confirmed] [--topics posts,news]",
		"add or update everyone in a CSV file (email,name; Mailchimp, Substack, Kit, or this program's export)\n\n" +
			"People the file says unsubscribed, bounced or complained (a status column, Mailchimp's UNSUB_TIME\n" +
			"and CLEAN_TIME, Substack's email_disabled) are recorded as suppressed, never active, even with\n" +
			"--confirmed; nobody suppressed here already is made active again. The file's opt-in time and\n" +
			"source are kept as each person's consent record.", cmdSubscribersImport},
	{"list", "[--status STATUS]", "list subscribers, one a line", cmdSubscribersList},
	{"export", "[EMAIL] [--json] [--status STATUS]", exportHelp, cmdSubscribersExport},
	{"erase", "EMAIL", eraseHelp, cmdSubscribersErase},
}

func cmdSubscribers(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return subcommands(ctx, m, fs, subscriberCommands, args)
}

func cmdSubscribersAdd(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	name := fs.String("name", "", `the person's name [the one in "Name <email>", if given so]`)
	topics := topicsFlag(fs, []string{store.TopicPosts}, " [posts]")
	confirmed := confirmedFlag(fs)
	a, arg, err := m.parseAndOpen(ctx, fs, args, needs{create: true},
		"practicemail subscribers add EMAIL [--name N] [--topics posts,news] [--confirmed]")
	if err != nil {
		return err
	}
	defer a.Close()
	addrName, email, err := store.SplitAddress(arg)
	if err != nil {
		return err
	}
	if *name == "" {
		*name = addrName
	}
	r, err := a.DB.AddSubscriber(ctx, store.NewSubscriber{Email: email, Name: *name, Topics: *topics,
		Confirmed: *confirmed, ConsentSource: "cli"})
	if err != nil {
		return err
	}
	if r.Status == store.StatusErased {
		return fmt.Errorf("%s asked to be forgotten and was erased: not added; they can come back by signing up on the form and confirming", email)
	}
	verb := "updated"
	if r.Created {
		verb = "added"
	}
	fmt.Fprintf(m.Stdout, "%s subscriber %d: %s\n", verb, r.ID, r.Status)
	return nil
}

// topicsFlag defines --topics, refusing a topic nobody sends to while the
// flags are parsed, before anything is opened.
func topicsFlag(fs *flag.FlagSet, def []string, extra string) *[]string {
	topics := def
	fs.Func("topics", "comma-separated `list` of topics: "+strings.Join(store.Topics, ", ")+extra, func(s string) error {
		list := splitList(s)
		if len(list) == 0 {
			return fmt.Errorf("no topic given: choose from %s", strings.Join(store.Topics, ", "))
		}
		if err := store.CheckTopics(list); err != nil {
			return err
		}
		topics = list
		return nil
	})
	return &topics
}

func confirmedFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("confirmed", false, "active at once (you have their consent), instead of pending")
}

func cmdSubscribersImport(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	topics := topicsFlag(fs, nil, " [the file's topics column, else posts]")
	confirmed := confirmedFlag(fs)
	a, path, err := m.parseAndOpen(ctx, fs, args, needs{create: true},
		"practicemail subscribers import FILE.csv [--confirmed] [--topics posts,news]")
	if err != nil {
		return err
	}
	defer a.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum, err := roster.Import(ctx, a.DB, f, roster.Options{Confirmed: *confirmed, Topics: *topics,
		Source: "import:" + filepath.Base(path), Progress: roster.TerminalProgress(m.Stderr)})
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	sum.Write(m.Stdout)
	return nil
}

// statusFlag defines --status, refusing an unknown status while the flags
// are parsed.
func statusFlag(fs *flag.FlagSet) *string {
	var status string
	fs.Func("status", "only subscribers with this `status`: "+strings.Join(store.Statuses, ", "), func(s string) error {
		if err := store.CheckStatus(s); err != nil {
			return err
		}
		status = s
		return nil
	})
	return &status
}

func cmdSubscribersList(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	status := statusFlag(fs)
	a, _, err := m.parseAndOpen(ctx, fs, args, needs{}, "")
	if err != nil {
		return err
	}
	defer a.Close()
	const row = "%-6v %-40s %-12s %-14s %s\n"
	var after int64
	for {
		subs, err := a.DB.ListSubscribers(ctx, *status, after, 1000)
		if err != nil {
			return err
		}
		if len(subs) == 0 {
			if after == 0 {
				fmt.Fprintln(m.Stdout, strings.TrimSpace("no subscribers "+statusPhrase(*status)))
			}
			return nil
		}
		if after == 0 {
			fmt.Fprintf(m.Stdout, row, "ID", "EMAIL", "STATUS", "TOPICS", "NAME")
		}
		for _, s := range subs {
			fmt.Fprintf(m.Stdout, row, s.ID, printable(s.Email), printable(s.Status),
				printable(strings.Join(s.Topics, ",")), printable(s.Name))
		}
		after = subs[len(subs)-1].ID
	}
}

// printable escapes what a terminal would act on instead of show: control
// characters, bidirectional overrides and line separators, as Go writes
// them ("\n", "\u202e"). Names are cleaned when stored, but a row an older
// version stored may still hold a CR/LF, and one line per person must stay
// one line.
func printable(s string) string {
	if strings.IndexFunc(s, unprintable) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !unprintable(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

func statusPhrase(status string) string {
	if status == "" {
		return ""
	}
	return "with status " + status
}
