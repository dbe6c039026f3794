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

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/worker"
)

// failuresShown caps the failed deliveries `status --failures` lists.
const failuresShown = 1000

// bouncesShown is how many of the latest bounces `status` lists.
const bouncesShown = 5

// statusReport is what `status` prints; with --json, its fields as they are,
// every time in the practice's time zone.
type statusReport struct {
	TimeZone string `json:"time_zone"` // of every time in the report
	*store.Counts
	Sending     []store.PostProgress        `json:"sending"`      // posts still on their way
	FailedPosts []store.FailedPost          `json:"failed_posts"` // posts that could not be rendered
	Failures    []store.Failure             `json:"failures,omitempty"`
	Bounces     *store.BounceSummary        `json:"bounces"`
	Queues      map[string]worker.QueueSize `json:"queues,omitempty"`
	Redis       string                      `json:"redis_error,omitempty"`
	Feeds       []feedStatus                `json:"feeds"`
}

type feedStatus struct {
	Name       string    `json:"name"`
	URL        string    `json:"url"`
	Enabled    bool      `json:"enabled"`
	PolledAt   time.Time `json:"polled_at,omitzero"`
	LastOKAt   time.Time `json:"last_ok_at,omitzero"`
	Result     string    `json:"result"`
	LastError  string    `json:"last_error,omitempty"`
	Failures   int       `json:"failures"`
	NextPollAt time.Time `json:"next_poll_at,omitzero"`
}

// cmdStatus reads; it starts no server (not even a Redis of its own) and
// sends nothing.
func cmdStatus(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON")
	failures := fs.Bool("failures", false, fmt.Sprintf("list failed deliveries with their replies (the latest %d)", failuresShown))
	a, _, err := m.parseAndOpen(ctx, fs, args, needs{}, "")
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := readStatus(ctx, a, *failures)
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

// readStatus gathers the report, its times in the practice's time zone.
func readStatus(ctx context.Context, a *App, failures bool) (statusReport, error) {
	loc := a.Config.Practice.Location
	rep := statusReport{TimeZone: loc.String()}
	var err error
	if rep.Counts, err = a.DB.Counts(ctx); err != nil {
		return rep, err
	}
	if rep.Sending, err = a.DB.Sending(ctx); err != nil {
		return rep, err
	}
	if rep.FailedPosts, err = a.DB.FailedPosts(ctx); err != nil {
		return rep, err
	}
	for i := range rep.FailedPosts {
		rep.FailedPosts[i].At = rep.FailedPosts[i].At.In(loc)
	}
	if failures {
		if rep.Failures, err = a.DB.Failures(ctx, failuresShown); err != nil {
			return rep, err
		}
		for i := range rep.Failures {
			rep.Failures[i].At = inZone(rep.Failures[i].At, loc)
		}
	}
	if rep.Bounces, err = a.DB.Bounces(ctx, bouncesShown); err != nil {
		return rep, err
	}
	for i := range rep.Bounces.Latest {
		rep.Bounces.Latest[i].At = rep.Bounces.Latest[i].At.In(loc)
	}
	rep.Bounces.Latest = nonNil(rep.Bounces.Latest)
	// [] in JSON, not null
	rep.Sending, rep.FailedPosts = nonNil(rep.Sending), nonNil(rep.FailedPosts)
	feeds, err := a.DB.Feeds(ctx)
	if err != nil {
		return rep, err
	}
	for _, f := range feeds {
		rep.Feeds = append(rep.Feeds, feedStatus{f.Name, config.RedactURL(f.URL), f.Enabled, inZone(f.PolledAt, loc),
			inZone(f.LastOKAt, loc), f.LastStatus, f.LastError, f.Failures, inZone(f.NextPollAt, loc)})
	}
	// Queue sizes are a bonus: status still answers when Redis is down.
	if err := a.connectRedis(ctx, false); err != nil {
		rep.Redis = err.Error()
	} else if rep.Queues, err = worker.QueueSizes(a.Inspector); err != nil {
		rep.Redis = err.Error()
	}
	return rep, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// inZone is t in loc, and the zero time as it is.
func inZone(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

// postStates are the states of a post, in the order status prints them.
var postStates = []string{store.PostNew, store.PostHeld, store.PostSending, store.PostSent, store.PostFailed,
	store.PostBaseline, store.PostSkipped}

func printStatus(w io.Writer, r statusReport, failures bool) {
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
func printFailures(w io.Writer, r statusReport, failures bool) {
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

func printQueues(w io.Writer, r statusReport) {
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
