package main

import (
	"context"
	"flag"
	"fmt"
	netmail "net/mail"
	"os/exec"
	"sync"

	"github.com/practicemail/practicemail/feeds"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
)

// checkResult is what one check found: ok says what worked, err what failed.
type checkResult struct {
	name string
	ok   string
	err  error
}

func (r checkResult) String() string {
	if r.err != nil {
		return r.name + ": failed: " + r.err.Error()
	}
	return r.name + ": ok: " + r.ok
}

// cmdCheck tries everything practicemail depends on, one line each, and
// fails if anything did. It sends no message and changes nothing.
func cmdCheck(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	configPath, rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q", rest[0])
	}
	cfg, err := m.loadConfig(configPath)
	if err != nil {
		return err
	}
	a := &App{Config: cfg, Log: newLogger(m.Stderr, cfg.Log)}
	defer a.Close()
	results := runChecks(ctx, a)
	failed := 0
	for _, r := range results {
		fmt.Fprintln(m.Stdout, r)
		if r.err != nil {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(results))
	}
	return nil
}

// checkAtStart runs the checks of `practicemail check` in the background
// and logs each failure as a warning: a process never refuses to start for
// them. The channel closes when they are done.
func (m *Main) checkAtStart(ctx context.Context, a *App) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, r := range runChecks(ctx, a) {
			if r.err != nil && ctx.Err() == nil {
				a.Log.Warn("check_failed", "check", r.name, "error", r.err.Error())
			}
		}
	}()
	return done
}

// runChecks runs every check at once and returns them in a fixed order:
// database, redis, smtp, then each feed. What a has open already is
// checked as it is; what it lacks is connected for the check, read-only.
func runChecks(ctx context.Context, a *App) []checkResult {
	checks := []func(context.Context, *App) checkResult{checkDatabase, checkRedis, checkSMTP}
	fetcher := feeds.NewFetcher(feeds.FetcherOptions{UserAgent: feeds.UserAgent(version)})
	if a.Worker != nil && a.Worker.Fetcher != nil {
		fetcher = a.Worker.Fetcher
	}
	for _, f := range a.Config.Feeds {
		checks = append(checks, func(ctx context.Context, _ *App) checkResult {
			ok, err := fetcher.Check(ctx, f.URL)
			return checkResult{"feed " + f.Name, ok, err}
		})
	}
	if a.DB == nil && a.dbMissing() == nil { // before the others, which must not race to open it
		if db, err := store.Open(ctx, a.Config.Database.URL); err == nil {
			a.DB = db
		}
	}
	out := make([]checkResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { out[i] = c(ctx, a) })
	}
	wg.Wait()
	return out
}

func checkDatabase(ctx context.Context, a *App) checkResult {
	r := checkResult{name: "database"}
	if a.DB == nil {
		if r.err = a.dbMissing(); r.err == nil {
			_, r.err = store.Open(ctx, a.Config.Database.URL)
		}
		return r
	}
	if r.err = a.DB.Ping(ctx); r.err == nil {
		r.err = a.DB.CheckSchema(ctx)
	}
	r.ok = a.DB.Engine() + " " + redactURL(a.Config.Database.URL) + ", schema up to date"
	return r
}

func checkRedis(ctx context.Context, a *App) checkResult {
	r := checkResult{name: "redis"}
	if a.Redis == nil {
		if r.err = a.connectRedis(ctx, false); r.err != nil {
			if _, err := exec.LookPath("redis-server"); err == nil && a.Config.Redis.URL == "" {
				return checkResult{r.name, "none running; run starts its own redis-server", nil}
			}
			return r
		}
	}
	r.err = a.Redis.Ping(ctx).Err()
	r.ok = a.redisDesc + " answers"
	return r
}

func checkSMTP(ctx context.Context, a *App) checkResult {
	s := a.Config.SMTP
	from := a.Config.Practice.From
	if addr, err := netmail.ParseAddress(from); err == nil {
		from = addr.Address
	}
	if s.ReturnPath != "" { // the envelope sender a send would give
		from = s.ReturnPath
	}
	ok, err := mail.Check(ctx, mail.Options{URL: s.URL, TLS: s.TLS, Timeout: s.Timeout, OutboxDir: s.OutboxDir}, from)
	return checkResult{"smtp", ok, err}
}
