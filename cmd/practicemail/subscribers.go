package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/practicemail/practicemail/internal/roster"
	"github.com/practicemail/practicemail/internal/store"
)

func cmdSubscribers(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	if len(args) == 0 {
		return errors.New("subscribers: say add, import, list or export")
	}
	fs.Init("practicemail subscribers "+args[0], flag.ContinueOnError)
	switch args[0] {
	case "add":
		return m.subscribersAdd(ctx, fs, args[1:])
	case "import":
		return m.subscribersImport(ctx, fs, args[1:])
	case "list", "export":
		return m.subscribersExport(ctx, fs, args[1:], args[0] == "list")
	}
	return fmt.Errorf("subscribers: unknown command %q (want add, import, list or export)", args[0])
}

func (m *Main) subscribersAdd(ctx context.Context, fs *flag.FlagSet, args []string) error {
	name := fs.String("name", "", "the person's name")
	topics, confirmed := consentFlags(fs)
	a, email, err := m.parseAndOpen(ctx, fs, args, needs{create: true},
		"practicemail subscribers add EMAIL [--name N] [--topics posts,news] [--confirmed]")
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := a.DB.AddSubscriber(ctx, store.NewSubscriber{Email: email, Name: *name, Topics: splitList(*topics),
		Confirmed: *confirmed, ConsentSource: "cli"})
	if err != nil {
		return err
	}
	verb := "updated"
	if r.Created {
		verb = "added"
	}
	fmt.Fprintf(m.Stdout, "%s subscriber %d: %s\n", verb, r.ID, r.Status)
	return nil
}

// consentFlags are the flags add and import share.
func consentFlags(fs *flag.FlagSet) (topics *string, confirmed *bool) {
	return fs.String("topics", "posts", "topics, comma-separated: posts, news"),
		fs.Bool("confirmed", false, "active at once (you have their consent), instead of pending")
}

func (m *Main) subscribersImport(ctx context.Context, fs *flag.FlagSet, args []string) error {
	topics, confirmed := consentFlags(fs)
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
	sum, err := roster.Import(ctx, a.DB, f, roster.Options{Confirmed: *confirmed, Topics: splitList(*topics),
		Source: "import:" + filepath.Base(path), Progress: roster.TerminalProgress(m.Stderr)})
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	sum.Write(m.Stdout)
	return nil
}

func (m *Main) subscribersExport(ctx context.Context, fs *flag.FlagSet, args []string, list bool) error {
	status := fs.String("status", "", "only subscribers with this status (active, pending, unsubscribed, bounced, complained)")
	a, _, err := m.parseAndOpen(ctx, fs, args, needs{}, "")
	if err != nil {
		return err
	}
	defer a.Close()
	if !list {
		_, err := roster.Export(ctx, a.DB, m.Stdout, *status)
		return err
	}
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
			fmt.Fprintf(m.Stdout, row, s.ID, s.Email, s.Status, strings.Join(s.Topics, ","), s.Name)
		}
		after = subs[len(subs)-1].ID
	}
}

func statusPhrase(status string) string {
	if status == "" {
		return ""
	}
	return "with status " + status
}
