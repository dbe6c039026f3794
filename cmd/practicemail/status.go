package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/practicemail/practicemail/internal/status"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/worker"
)

// cmdStatus reads; it starts no server (not even a Redis of its own) and
// sends nothing.
func cmdStatus(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON")
	failures := fs.Bool("failures", false, fmt.Sprintf("list failed deliveries with their replies (the latest %d)", status.FailuresShown))
	a, _, err := m.parseAndOpen(ctx, fs, args, needs{}, "")
	if err != nil {
		return err
	}
	defer a.Close()
	src := status.Source{DB: a.DB, Location: a.Config.Practice.Location}
	// Queue sizes are a bonus: status still answers when Redis is down.
	if err := a.connectRedis(ctx, false); err != nil {
		src.NoRedis = err.Error()
	} else {
		src.Queues = func() (map[string]worker.QueueSize, error) { return worker.QueueSizes(a.Inspector) }
	}
	rep, err := status.Read(ctx, src, *failures)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printStatus(m.Stdout, rep, *failures)
	return nil
}

// postStates are the states of a post, in the order status prints them.
var postStates = []string{store.PostNew, store.PostHeld, store.PostSending, store.PostSent, store.PostFailed,
	store.PostBaseline, store.PostSkipped}

func printStatus(w io.Writer, r status.Report, failures bool) {
	fmt.Fprintln(w, "times in "+r.TimeZone)
	fmt.Fprintln(w, "subscribers: "+byState(r.Subscribers, "active", "pending", "unsubscribed", "bounced", "complained"))
	fmt.Fprintln(w, "posts:       "+byState(r.Posts, postStates...))
	fmt.Fprintln(w, "deliveries:  "+byState(r.Deliveries, "queued", "sending", "sent", "failed", "suppressed"))
	if r.Unfolded > 0 {
		fmt.Fprintf(w, "             counting %d outcomes the database could not yet write to their rows (is the disk full or read-only?)\n", r.Unfolded)
	}
	for _, p := range r.Sending {
		fmt.Fprintln(w, "sending:     "+progressLine(p))
	}
	for _, p := range r.FailedPosts {
		fmt.Fprintf(w, "failed:      post %d %q could not be rendered (%s): %s\n", p.PostID, p.Title, stamp(p.At), p.Reason)
	}
	printBounces(w, r.Bounces)
	printFailures(w, r, failures)
	printQueues(w, r)
	for _, f := range r.Feeds {
		state := "never polled"
		switch {
		case !f.Enabled:
			state = "not polled: not in the configuration the scheduler last started with"
		case f.LastError != "":
			state = fmt.Sprintf("FAILING (%d in a row): %s", f.Failures, f.LastError)
		case !f.PolledAt.IsZero():
			state = fmt.Sprintf("ok at %s: %s", stamp(f.PolledAt), f.Result)
		}
		fmt.Fprintf(w, "feed %s (%s): %s\n", f.Name, f.URL, state)
		if f.Enabled && !f.NextPollAt.IsZero() {
			fmt.Fprintf(w, "  next poll %s\n", stamp(f.NextPollAt))
		}
	}
}

// printBounces counts the last 30 days' bounces by type and lists the
// latest, with their reasons.
func printBounces(w io.Writer, b *store.BounceSummary) {
	if b == nil || len(b.Latest) == 0 {
		return
	}
	fmt.Fprintln(w, "bounces:     "+byState(b.Recent, store.BounceHard, store.BounceSoft, store.BounceComplaint)+" in the last 30 days; latest:")
	for _, l := range b.Latest {
		why := strings.TrimSpace(l.Status + " " + l.Reason)
		fmt.Fprintf(w, "  %s  %s  %s  (%s) %s\n", stamp(l.At), l.Type, printable(l.Email), l.Source, printable(why))
	}
}

// printFailures lists the failed deliveries, or says how to see them.
func printFailures(w io.Writer, r status.Report, failures bool) {
	failed := r.Deliveries[store.DeliveryFailed] + r.Deliveries[store.DeliveryUnknown]
	if !failures {
		if failed > 0 {
			fmt.Fprintf(w, "failures:    %s: practicemail status --failures lists them\n", failureCounts(r.Deliveries))
		}
		return
	}
	if failed == 0 {
		fmt.Fprintln(w, "failures:    none")
		return
	}
	fmt.Fprintln(w, "failures (latest first):")
	for _, f := range r.Failures {
		when := "time not recorded"
		if !f.At.IsZero() {
			when = stamp(f.At)
		}
		fmt.Fprintf(w, "  %s  %s  %s  %s %d %q: %s (attempts: %d)\n", when, f.State, f.Recipient, f.Kind, f.SourceID, f.Title, f.Reply, f.Attempts)
	}
	if more := failed - int64(len(r.Failures)); more > 0 {
		fmt.Fprintf(w, "  … and %d more\n", more)
	}
}

// failureCounts says how many deliveries ended unsent, and how.
func failureCounts(d map[string]int64) string {
	var parts []string
	if n := d[store.DeliveryFailed]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d deliveries failed for good", n))
	}
	if n := d[store.DeliveryUnknown]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d went unanswered twice (they may have arrived; never sent again)", n))
	}
	return strings.Join(parts, ", ")
}

func printQueues(w io.Writer, r status.Report) {
	if r.Redis != "" {
		fmt.Fprintln(w, "queues:      unknown: "+r.Redis)
	}
	names := make([]string, 0, len(r.Queues))
	for q := range r.Queues {
		names = append(names, q)
	}
	sort.Strings(names)
	for _, q := range names {
		s := r.Queues[q]
		fmt.Fprintf(w, "queue %-7s pending %d, active %d, scheduled %d, retry %d, archived %d\n",
			q+":", s.Pending, s.Active, s.Scheduled, s.Retry, s.Archived)
	}
}

// stamp is how status prints a time: already in the practice's zone, and
// labelled with it.
func stamp(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") }

// byState prints counts in a fixed order, then any other states.
func byState(m map[string]int64, order ...string) string {
	s, seen := "", map[string]bool{}
	add := func(k string) {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%d %s", m[k], k)
		seen[k] = true
	}
	for _, k := range order {
		add(k)
	}
	for k := range m {
		if !seen[k] {
			add(k)
		}
	}
	return s
}

// progressLine says how far one post's sending has come.
func progressLine(p store.PostProgress) string {
	rest := fmt.Sprintf("%d failed, %d suppressed, %d to go", p.Failed, p.Suppressed, p.ToGo)
	if p.Unknown > 0 {
		rest += fmt.Sprintf(", %d unknown (the server never answered: maybe delivered)", p.Unknown)
	}
	if !p.FanOutDone {
		return fmt.Sprintf("post %d %q: writing the recipient list, %d so far: %d sent, %s",
			p.PostID, p.Title, p.Recipients(), p.Sent, rest)
	}
	return fmt.Sprintf("post %d %q: %d of %d sent, %s", p.PostID, p.Title, p.Sent, p.Recipients(), rest)
}
