package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/worker"
)

// pollFlags are what `poll` was asked to do besides polling.
type pollFlags struct {
	feed                   string
	approve, skip, skipAll bool
	ids                    []int64 // held posts named after --approve or --skip
}

func cmdPoll(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	var pf pollFlags
	fs.StringVar(&pf.feed, "feed", "", "poll only this feed (or decide only its held posts)")
	fs.BoolVar(&pf.approve, "approve", false, "release held posts to be sent: the IDs that follow, or all (of --feed) without IDs")
	fs.BoolVar(&pf.skip, "skip", false, "mark the held posts whose IDs follow skipped: never sent")
	fs.BoolVar(&pf.skipAll, "skip-all", false, "mark every held post (of --feed) skipped: never sent")
	configPath, rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := pf.check(rest); err != nil {
		return err
	}
	a, err := m.open(ctx, configPath, needs{redis: true, createForFeeds: !pf.deciding()})
	if err != nil {
		return err
	}
	defer a.Close()
	if pf.deciding() {
		return m.decideHeld(ctx, a, pf)
	}
	feeds, err := m.feedsToPoll(ctx, a, pf.feed)
	if err != nil {
		return err
	}
	var failed []error
	for _, f := range feeds {
		rep, err := a.Worker.PollFeed(ctx, f)
		if err != nil {
			return err
		}
		printReport(m.Stdout, rep)
		if rep.Err != nil {
			failed = append(failed, fmt.Errorf("feed %s could not be polled: %w", f.Name, rep.Err))
		}
		if err := printHeld(ctx, m.Stdout, a.DB, f.ID); err != nil {
			return err
		}
	}
	if len(feeds) == 0 {
		fmt.Fprintln(m.Stdout, "no feeds configured: add one under feeds: in the configuration")
	}
	return errors.Join(failed...)
}

// check reads the IDs given after --approve or --skip and refuses
// combinations that say two things at once.
func (pf *pollFlags) check(rest []string) error {
	n := 0
	for _, set := range []bool{pf.approve, pf.skip, pf.skipAll} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("give one of --approve, --skip and --skip-all")
	case len(rest) > 0 && !pf.approve && !pf.skip:
		return fmt.Errorf("unexpected argument %q (post IDs follow --approve or --skip)", rest[0])
	case pf.skip && len(rest) == 0:
		return errors.New("--skip needs the IDs of the held posts to skip (poll and status show them); --skip-all skips every one")
	}
	for _, r := range rest {
		id, err := strconv.ParseInt(r, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%q is not a post ID (poll and status show the IDs of held posts)", r)
		}
		if !slices.Contains(pf.ids, id) {
			pf.ids = append(pf.ids, id)
		}
	}
	return nil
}

func (pf pollFlags) deciding() bool { return pf.approve || pf.skip || pf.skipAll }

// feedsToPoll returns the enabled feeds to poll. The leading scheduler owns
// the feeds table: while one runs, this configuration changes nothing in
// it, and each way it differs is said; the feeds are polled as the
// scheduler has them, keeping its interval. When no scheduler runs, a
// configuration naming feeds is applied first.
func (m *Main) feedsToPoll(ctx context.Context, a *App, name string) ([]store.Feed, error) {
	leading, err := worker.SchedulerLeading(ctx, a.Redis)
	if err != nil {
		return nil, err
	}
	mine := a.feedSpecs()
	if len(mine) > 0 && !leading {
		if err := a.DB.SyncFeeds(ctx, mine); err != nil {
			return nil, err
		}
	}
	table, err := a.DB.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	if leading && len(mine) > 0 {
		for _, d := range store.DiffFeeds(mine, table) {
			fmt.Fprintln(m.Stderr, d.String())
		}
	}
	var out []store.Feed
	for _, f := range table {
		if f.Enabled && (name == "" || f.Name == name) {
			out = append(out, f)
		}
	}
	if name != "" && len(out) == 0 {
		if leading {
			return nil, fmt.Errorf("the running scheduler polls no feed named %q", name)
		}
		return nil, fmt.Errorf("no feed named %q in the configuration", name)
	}
	return out, nil
}

// decideHeld approves or skips held posts: those listed, or all of them (of
// one feed, with --feed).
func (m *Main) decideHeld(ctx context.Context, a *App, pf pollFlags) error {
	var feedID int64
	if pf.feed != "" {
		f, err := a.DB.FeedByName(ctx, pf.feed)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no feed named %q", pf.feed)
		} else if err != nil {
			return err
		}
		feedID = f.ID
	}
	to, verb := store.PostNew, "approved"
	if pf.skip || pf.skipAll {
		to, verb = store.PostSkipped, "skipped (never sent)"
	}
	var posts []store.Post
	var err error
	if len(pf.ids) > 0 {
		posts, err = a.DB.DecideHeld(ctx, feedID, pf.ids, to)
	} else {
		posts, err = m.decideAllHeld(ctx, a, feedID, to)
	}
	if err != nil {
		return err
	}
	if len(posts) == 0 {
		fmt.Fprintln(m.Stdout, "no posts are held for approval")
		return nil
	}
	for _, p := range posts {
		fmt.Fprintf(m.Stdout, "%s: %d %s\n", verb, p.ID, p.Title)
	}
	if to == store.PostNew {
		for _, p := range posts {
			if err := a.Worker.EnqueueFanout(ctx, p.ID); err != nil {
				// Not lost: the reconciler enqueues posts still new.
				a.Log.Warn("enqueue_fanout_failed", "post_id", p.ID, "error", err)
			}
		}
		fmt.Fprintf(m.Stdout, "%d post(s) queued for sending; the worker (`practicemail run`) sends them\n", len(posts))
	}
	return nil
}

// decideAllHeld moves every held post (of feedID, unless 0) and returns
// them as they were.
func (m *Main) decideAllHeld(ctx context.Context, a *App, feedID int64, to string) ([]store.Post, error) {
	held, err := a.DB.PostsInState(ctx, store.PostHeld, feedID)
	if err != nil || len(held) == 0 {
		return nil, err
	}
	ids := make([]int64, len(held))
	for i, p := range held {
		ids[i] = p.ID
	}
	return a.DB.DecideHeld(ctx, feedID, ids, to)
}

// printHeld lists a feed's held posts with the IDs that --approve and
// --skip take.
func printHeld(ctx context.Context, w io.Writer, db *store.DB, feedID int64) error {
	held, err := db.PostsInState(ctx, store.PostHeld, feedID)
	if err != nil || len(held) == 0 {
		return err
	}
	fmt.Fprintf(w, "  %d post(s) held for approval: practicemail poll --approve ID… sends them, --skip ID… or --skip-all never will\n", len(held))
	for _, p := range held {
		fmt.Fprintf(w, "    %d  %s\n", p.ID, p.Title)
	}
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
	}{{"new, sending", r.New}, {"updated, not re-sent", r.Updated}} {
		for _, t := range list.titles {
			fmt.Fprintf(w, "  %s: %s\n", list.label, t)
		}
	}
}
