package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/worker"
)

func cmdPoll(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	feedName := fs.String("feed", "", "poll only this feed")
	approve := fs.Bool("approve", false, "release posts held for approval (sends them) instead of polling")
	a, _, err := m.parseAndOpen(ctx, fs, args, needs{redis: true}, "")
	if err != nil {
		return err
	}
	defer a.Close()
	// A configuration with feeds decides which are polled; one without any
	// (practicemail.yaml beside a `run` given its feed by environment, say)
	// changes nothing, and can still approve held posts.
	if len(a.Config.Feeds) > 0 {
		if err := a.syncFeeds(ctx); err != nil {
			return err
		}
	}
	var feeds []store.Feed
	if *feedName != "" {
		f, err := a.DB.FeedByName(ctx, *feedName)
		if err != nil {
			return fmt.Errorf("no feed named %q in the configuration", *feedName)
		}
		feeds = []store.Feed{*f}
	} else if feeds, err = a.DB.Feeds(ctx); err != nil {
		return err
	}
	if *approve {
		return m.approve(ctx, a, *feedName != "", feeds)
	}
	polled := 0
	for _, f := range feeds {
		if !f.Enabled {
			continue
		}
		rep, err := a.Worker.PollFeed(ctx, f)
		if err != nil {
			return err
		}
		printReport(m.Stdout, rep)
		polled++
	}
	if polled == 0 {
		fmt.Fprintln(m.Stdout, "no feeds configured: add one under feeds: in the configuration")
	}
	return nil
}

func (m *Main) approve(ctx context.Context, a *App, one bool, feeds []store.Feed) error {
	var feedID int64
	if one {
		feedID = feeds[0].ID
	}
	held, err := a.DB.PostsInState(ctx, store.PostHeld, feedID)
	if err != nil {
		return err
	}
	if len(held) == 0 {
		fmt.Fprintln(m.Stdout, "no posts are held for approval")
		return nil
	}
	if _, err := a.Worker.ApproveHeld(ctx, feedID); err != nil {
		return err
	}
	for _, p := range held {
		fmt.Fprintf(m.Stdout, "approved: %s\n", p.Title)
	}
	fmt.Fprintf(m.Stdout, "%d post(s) queued for sending; the worker (`practicemail run`) sends them\n", len(held))
	return nil
}

func printReport(w io.Writer, r *worker.PollReport) {
	fmt.Fprintf(w, "%s: %s\n", r.Feed, r.Summary())
	if r.Err != nil {
		fmt.Fprintf(w, "  will try again at %s\n", r.NextPoll.Local().Format("2006-01-02 15:04:05"))
		return
	}
	for _, list := range []struct {
		label  string
		titles []string
	}{{"new, sending", r.New}, {"held for approval (practicemail poll --approve)", r.Held}, {"updated, not re-sent", r.Updated}} {
		for _, t := range list.titles {
			fmt.Fprintf(w, "  %s: %s\n", list.label, t)
		}
	}
}
