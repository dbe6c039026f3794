package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/compose"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
	"github.com/practicemail/practicemail/worker"
)

// The campaign commands: one email the therapist writes, sent once to an
// audience at the time set. The leading scheduler starts it (worker
// runCampaigns); these commands only write SQL, except `test`, which
// enqueues its one message.

const timeHelp = "TIME is RFC 3339 (2026-01-06T09:00:00-07:00) or \"2026-01-06 09:00\" in practice.time_zone;\n" +
	"a time in the past is refused unless --now, which sends at once."

var campaignCommands = []command{
	{"create", "--subject S --body FILE.md|FILE.html [--to topic:news|inquirers:unbooked] [--send-at TIME | --now] [--spread 2h] [--stop-after-bookings N]",
		"store a campaign and print its id; without --send-at or --now it is a draft until `schedule`\n\n" +
			"The body is Markdown or HTML (by its extension), sanitised and put in the practice's layout;\n" +
			"{{first_name}} ({{first_name|Friend}} for another fallback), {{practice_name}} and {{booking_url}}\n" +
			"are filled in. --to topic:news is the confirmed subscribers of news; inquirers:unbooked the people\n" +
			"who inquired, said yes to news, and have not booked. --spread spaces the sends evenly over the\n" +
			"period; --stop-after-bookings stops the rest once N bookings come in after the send starts.\n" + timeHelp,
		cmdCampaignsCreate},
	{"schedule", "ID --at TIME [--now]", "set the time of a draft or scheduled campaign\n\n" + timeHelp, cmdCampaignsSchedule},
	{"cancel", "ID", "cancel a campaign: before its time nothing is sent; while it sends, the rest is not", cmdCampaignsCancel},
	{"test", "ID --to EMAIL", "send one message of the campaign, marked as a test, to EMAIL: not one of its audience, not\n" +
		"counted in it (needs Redis and a worker running)", cmdCampaignsTest},
	{"list", "", "list the campaigns: state, time, audience size, sent / failed / suppressed / not sent / remaining", cmdCampaignsList},
	{"show", "ID", "show a campaign: its settings, counts and body", cmdCampaignsShow},
}

func cmdCampaigns(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return subcommands(ctx, m, fs, campaignCommands, args)
}

func cmdCampaignsCreate(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	subject := fs.String("subject", "", "the subject (no condition or treatment named)")
	bodyPath := fs.String("body", "", "the body: a .md or .html file")
	to := fs.String("to", store.AudienceNews, "the audience: "+strings.Join(store.Audiences, " or "))
	sendAt := fs.String("send-at", "", "when to send (TIME)")
	now := fs.Bool("now", false, "send at once (or accept a --send-at in the past as now)")
	spread := fs.Duration("spread", 0, "space the sends evenly over this period, e.g. 2h")
	stopAfter := fs.Int("stop-after-bookings", 0, "stop once this many bookings arrive after the send starts (0: never)")
	configPath, rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", rest[0])}
	}
	switch {
	case *bodyPath == "":
		return usageError{errors.New("--body FILE is required")}
	case *spread < 0 || *stopAfter < 0:
		return usageError{errors.New("--spread and --stop-after-bookings cannot be negative")}
	case !slices.Contains(store.Audiences, *to):
		return usageError{fmt.Errorf("--to %q: choose %s", *to, strings.Join(store.Audiences, " or "))}
	}
	if err := compose.CheckSubject(*subject); err != nil {
		return usageError{fmt.Errorf("--subject: %w", err)}
	}
	format, err := compose.FormatOf(*bodyPath)
	if err != nil {
		return usageError{err}
	}
	body, err := os.ReadFile(*bodyPath)
	if err != nil {
		return err
	}
	a, err := m.open(ctx, configPath, needs{create: true})
	if err != nil {
		return err
	}
	defer a.Close()
	at, err := a.sendTime(*sendAt, *now)
	if err != nil {
		return err
	}
	n := store.NewCampaign{Subject: *subject, Body: string(body), Format: string(format), Audience: *to,
		SendAt: at, Spread: *spread, StopAfterBookings: *stopAfter}
	if _, err := a.renderCampaign(&store.Campaign{Subject: n.Subject, Body: n.Body, Format: n.Format, Audience: n.Audience}, "Sam"); err != nil {
		return fmt.Errorf("%s: %w", *bodyPath, err)
	}
	id, err := a.DB.CreateCampaign(ctx, n)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, id)
	return nil
}

// sendTime reads TIME (RFC 3339, or "2006-01-02 15:04" in the practice's
// zone). Empty is no time (a draft), unless now. A time in the past is
// refused unless now, which makes it now.
func (a *App) sendTime(s string, now bool) (time.Time, error) {
	if s == "" {
		if now {
			return a.DB.Now(), nil
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.ParseInLocation("2006-01-02 15:04", s, a.Config.Practice.Location)
	}
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("time %q: use RFC 3339 or \"2026-01-06 09:00\" (in %s)", s, a.Config.Practice.Location)}
	}
	if t.Before(a.DB.Now()) {
		if !now {
			return time.Time{}, fmt.Errorf("%s is in the past: give a later time, or --now to send at once", a.when(t))
		}
		t = a.DB.Now()
	}
	return t, nil
}

// renderCampaign renders c as the worker does, with sample links.
func (a *App) renderCampaign(c *store.Campaign, firstName string) (templates.Rendered, error) {
	if a.Worker == nil {
		if err := a.buildWorker(worker.Options{}); err != nil { // only to render: it sends nothing
			return templates.Rendered{}, err
		}
	}
	cfg := sampleInquiryEmail(a.Config)
	return a.Worker.RenderCampaign(c, firstName, cfg.Footer, false)
}

func cmdCampaignsSchedule(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	at := fs.String("at", "", "when to send (TIME)")
	now := fs.Bool("now", false, "send at once (or accept an --at in the past as now)")
	a, id, err := m.openCampaign(ctx, fs, args, needs{}, "practicemail campaigns schedule ID --at TIME")
	if err != nil {
		return err
	}
	defer a.Close()
	if *at == "" && !*now {
		return usageError{errors.New("--at TIME (or --now) is required")}
	}
	t, err := a.sendTime(*at, *now)
	if err != nil {
		return err
	}
	if err := a.DB.ScheduleCampaign(ctx, id, t); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "campaign %d: scheduled for %s\n", id, a.when(t))
	return nil
}

func cmdCampaignsCancel(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	a, id, err := m.openCampaign(ctx, fs, args, needs{}, "practicemail campaigns cancel ID")
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.DB.CancelCampaign(ctx, id); err != nil {
		return err
	}
	counts, err := a.DB.CampaignCounts(ctx)
	if err != nil {
		return err
	}
	n := counts[id]
	fmt.Fprintf(m.Stdout, "campaign %d: canceled; %d sent before the cancel, the rest will not be\n", id, n.Sent)
	return nil
}

func cmdCampaignsTest(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	to := fs.String("to", "", "the address to send the test to")
	a, id, err := m.openCampaign(ctx, fs, args, needs{redis: true}, "practicemail campaigns test ID --to EMAIL")
	if err != nil {
		return err
	}
	defer a.Close()
	email, err := store.NormalizeEmail(*to)
	if err != nil {
		return usageError{fmt.Errorf("--to: %w", err)}
	}
	if _, err := a.DB.Campaign(ctx, id); err != nil {
		return err
	}
	if err := a.Worker.SendCampaignTest(ctx, id, email); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "campaign %d: a test is queued for %s\n", id, printable(email))
	if a.Inspector != nil && !workerServing(a.Inspector) {
		fmt.Fprintln(m.Stdout, "no worker is running: it goes out once `practicemail run` or `practicemail worker` starts")
	}
	return nil
}

// workerServing reports whether a worker process serves the mail queue
// now, as asynq's servers report themselves in Redis. When Redis cannot
// say, it answers yes: the hint is only a hint.
func workerServing(insp *asynq.Inspector) bool {
	servers, err := insp.Servers()
	if err != nil {
		return true
	}
	for _, s := range servers {
		if _, ok := s.Queues[worker.QueueMail]; ok {
			return true
		}
	}
	return false
}

func cmdCampaignsList(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	a, _, err := m.parseAndOpen(ctx, fs, args, needs{}, "")
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.DB.Campaigns(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(m.Stdout, "no campaigns")
		return nil
	}
	counts, err := a.DB.CampaignCounts(ctx)
	if err != nil {
		return err
	}
	const row = "%-5v %-9s %-20s %-18s %8v %8v %7v %10v %8v %9v  %s\n"
	fmt.Fprintf(m.Stdout, row, "ID", "STATE", "SEND AT", "AUDIENCE", "SIZE", "SENT", "FAILED", "SUPPRESSED", "NOT SENT", "REMAINING", "SUBJECT")
	for _, c := range list {
		n := counts[c.ID]
		size := strconv.FormatInt(c.AudienceSize, 10)
		if c.StartedAt.IsZero() {
			size = "-" // fixed when sending starts
		}
		fmt.Fprintf(m.Stdout, row, c.ID, c.State, a.whenOr(c.SendAt), c.Audience, size, n.Sent, n.Failed+n.Unknown,
			n.Suppressed, n.Halted, n.Remaining, printable(c.Subject))
	}
	return nil
}

func (a *App) whenOr(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return a.when(t)
}

func cmdCampaignsShow(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	a, c, err := m.loadCampaign(ctx, fs, args, "practicemail campaigns show ID")
	if err != nil {
		return err
	}
	defer a.Close()
	counts, err := a.DB.CampaignCounts(ctx)
	if err != nil {
		return err
	}
	writeCampaign(m.Stdout, a, c, counts[c.ID])
	return nil
}

// loadCampaign parses a command taking one campaign ID and reads it.
func (m *Main) loadCampaign(ctx context.Context, fs *flag.FlagSet, args []string, usage string) (*App, *store.Campaign, error) {
	a, id, err := m.openCampaign(ctx, fs, args, needs{}, usage)
	if err != nil {
		return nil, nil, err
	}
	c, err := a.DB.Campaign(ctx, id)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, c, nil
}

func writeCampaign(w io.Writer, a *App, c *store.Campaign, n store.CampaignCounts) {
	fmt.Fprintf(w, "campaign %d: %s\n", c.ID, c.State)
	fmt.Fprintf(w, "  subject:   %s\n", printable(c.Subject))
	fmt.Fprintf(w, "  audience:  %s\n", c.Audience)
	fmt.Fprintf(w, "  send at:   %s\n", a.whenOr(c.SendAt))
	if c.Spread > 0 {
		fmt.Fprintf(w, "  spread:    %s\n", c.Spread)
	}
	if c.StopAfterBookings > 0 {
		fmt.Fprintf(w, "  stop after %s\n", count(c.StopAfterBookings, "booking"))
	}
	if !c.StartedAt.IsZero() {
		fmt.Fprintf(w, "  started:   %s, audience fixed at %d\n", a.when(c.StartedAt), c.AudienceSize)
	}
	if !c.EndedAt.IsZero() {
		fmt.Fprintf(w, "  ended:     %s %s\n", a.when(c.EndedAt), printable(c.EndReason))
	}
	fmt.Fprintf(w, "  sent %d, failed %d, unknown %d, suppressed %d, not sent %d, remaining %d\n",
		n.Sent, n.Failed, n.Unknown, n.Suppressed, n.Halted, n.Remaining)
	fmt.Fprintf(w, "\n--- body (%s) ---\n%s\n", c.Format, printableText(c.Body))
}

// openCampaign parses a command taking one campaign ID and opens what it
// needs.
func (m *Main) openCampaign(ctx context.Context, fs *flag.FlagSet, args []string, n needs, usage string) (*App, int64, error) {
	a, arg, err := m.parseAndOpen(ctx, fs, args, n, usage)
	if err != nil {
		return nil, 0, err
	}
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		a.Close()
		return nil, 0, usageError{fmt.Errorf("ID must be a campaign's number (got %q)", arg)}
	}
	return a, id, nil
}
