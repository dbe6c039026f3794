package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/worker"
)

// statusReport is what `status` prints; with --json, its fields as they are.
type statusReport struct {
	*store.Counts
	Sending []store.PostProgress `json:"sending"` // posts still on their way
	Queues  map[string]queueSize `json:"queues,omitempty"`
	Redis   string               `json:"redis_error,omitempty"`
	Feeds   []feedStatus         `json:"feeds"`
}

type queueSize struct {
	Pending, Active, Scheduled, Retry, Archived int
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

func cmdStatus(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print JSON")
	a, _, err := m.parseAndOpen(ctx, fs, args, needs{}, "")
	if err != nil {
		return err
	}
	defer a.Close()
	rep := statusReport{}
	if rep.Counts, err = a.DB.Counts(ctx); err != nil {
		return err
	}
	if rep.Sending, err = a.DB.Sending(ctx); err != nil {
		return err
	}
	if rep.Sending == nil {
		rep.Sending = []store.PostProgress{} // [] in JSON, not null
	}
	feeds, err := a.DB.Feeds(ctx)
	if err != nil {
		return err
	}
	for _, f := range feeds {
		rep.Feeds = append(rep.Feeds, feedStatus{f.Name, f.URL, f.Enabled, f.PolledAt, f.LastOKAt, f.LastStatus,
			f.LastError, f.Failures, f.NextPollAt})
	}
	// Queue sizes are a bonus: status still answers when Redis is down.
	if err := a.openRedis(ctx); err != nil {
		rep.Redis = err.Error()
	} else {
		rep.Queues = queueSizes(a)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printStatus(m.Stdout, rep)
	return nil
}

func queueSizes(a *App) map[string]queueSize {
	out := map[string]queueSize{}
	for q := range worker.Queues {
		info, err := a.Inspector.GetQueueInfo(q)
		if err != nil {
			continue // a queue that never had a task does not exist yet
		}
		out[q] = queueSize{info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived}
	}
	return out
}

func printStatus(w io.Writer, r statusReport) {
	fmt.Fprintln(w, "subscribers: "+byState(r.Subscribers, "active", "pending", "unsubscribed", "bounced", "complained"))
	fmt.Fprintln(w, "posts:       "+byState(r.Posts, "new", "held", "sending", "sent", "baseline", "skipped"))
	fmt.Fprintln(w, "deliveries:  "+byState(r.Deliveries, "queued", "sending", "sent", "failed", "suppressed"))
	if r.Unfolded > 0 {
		fmt.Fprintf(w, "             counting %d outcomes the database could not yet write to their rows (is the disk full or read-only?)\n", r.Unfolded)
	}
	for _, p := range r.Sending {
		fmt.Fprintln(w, "sending:     "+progressLine(p))
	}
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
	for _, f := range r.Feeds {
		state := "never polled"
		switch {
		case !f.Enabled:
			state = "not polled: not in the configuration the scheduler last started with"
		case f.LastError != "":
			state = fmt.Sprintf("FAILING (%d in a row): %s", f.Failures, f.LastError)
		case !f.PolledAt.IsZero():
			state = fmt.Sprintf("ok at %s: %s", f.PolledAt.Local().Format("2006-01-02 15:04"), f.Result)
		}
		fmt.Fprintf(w, "feed %s (%s): %s\n", f.Name, f.URL, state)
		if f.Enabled && !f.NextPollAt.IsZero() {
			fmt.Fprintf(w, "  next poll %s\n", f.NextPollAt.Local().Format("2006-01-02 15:04:05"))
		}
	}
}

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
	if !p.FanOutDone {
		return fmt.Sprintf("post %d %q: writing the recipient list, %d so far: %d sent, %s",
			p.PostID, p.Title, p.Recipients(), p.Sent, rest)
	}
	return fmt.Sprintf("post %d %q: %d of %d sent, %s", p.PostID, p.Title, p.Sent, p.Recipients(), rest)
}
