package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/feeds"
	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/crisis"
	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/seal"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
	"github.com/practicemail/practicemail/worker"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// App is the program's connected dependencies.
type App struct {
	Config    *config.Config
	Log       *slog.Logger
	DB        *store.DB
	Redis     redis.UniversalClient
	Queue     *asynq.Client
	Inspector *asynq.Inspector
	Mail      mail.Sender
	Worker    *worker.Worker

	linkKeyBytes []byte // secrets.link_key, or the development key
	redisDesc    string
	redisChild   *redisChild
}

// needs says which dependencies a command uses: with redis, it enqueues
// work, so it also gets the worker (templates, link signing, feed fetching).
// A command that only reads (status, subscribers list) never creates a
// database: run from the wrong directory, it would find an empty one and say
// there is nobody. Those that may create it say so with create, or with
// createForFeeds when only a configuration naming feeds has work for a new
// database (poll). No command here writes the feeds table: the leading
// scheduler owns it (worker.Scheduler), and poll only when none runs.
type needs struct{ redis, mail, create, createForFeeds bool }

// loadConfig reads the configuration: the file named, else practicemail.yaml
// when present, else the defaults; then the environment.
func (m *Main) loadConfig(path string) (*config.Config, error) {
	if path == "" {
		if _, err := os.Stat("practicemail.yaml"); err == nil {
			path = "practicemail.yaml"
		}
	}
	cfg, err := config.Load(path, m.Env)
	if err != nil {
		var p config.Problems
		if errors.As(err, &p) {
			return nil, fmt.Errorf("configuration %s has %d problem(s):\n  %s", orDefaults(path), len(p), strings.Join(p, "\n  "))
		}
		return nil, err
	}
	return cfg, nil
}

func orDefaults(path string) string {
	if path == "" {
		return "(built-in defaults and environment)"
	}
	return path
}

// parseAndOpen parses a command's flags and connects what it needs. A
// command taking one argument gives its usage line: without exactly one,
// that is the error, before anything is opened.
func (m *Main) parseAndOpen(ctx context.Context, fs *flag.FlagSet, args []string, n needs, oneArg string) (*App, string, error) {
	configPath, rest, err := parse(fs, args)
	if err != nil {
		return nil, "", err
	}
	var arg string
	switch {
	case oneArg != "" && len(rest) != 1:
		return nil, "", errors.New("usage: " + oneArg)
	case oneArg == "" && len(rest) > 0:
		return nil, "", fmt.Errorf("unexpected argument %q", rest[0])
	case oneArg != "":
		arg = rest[0]
	}
	a, err := m.open(ctx, configPath, n)
	return a, arg, err
}

// open connects what a command needs. The database is always migrated.
func (m *Main) open(ctx context.Context, configPath string, n needs) (*App, error) {
	cfg, err := m.loadConfig(configPath)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: newLogger(m.Stderr, cfg.Log)}
	if err := a.openDB(ctx, n.create || (n.createForFeeds && len(cfg.Feeds) > 0)); err != nil {
		a.Close()
		return nil, err
	}
	if n.redis {
		if err := a.openRedis(ctx); err != nil {
			a.Close()
			return nil, err
		}
	}
	if n.mail {
		if err := a.openMail(ctx); err != nil {
			a.Close()
			return nil, err
		}
	}
	if n.redis { // the commands that enqueue work: they need the worker
		if err := a.buildWorker(m.WorkerOptions); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// openDB opens and migrates the database; without create, a SQLite file
// that is not there yet is an error naming where it was looked for.
func (a *App) openDB(ctx context.Context, create bool) error {
	if !create {
		if err := a.dbMissing(); err != nil {
			return err
		}
	}
	db, err := store.Open(ctx, a.Config.Database.URL)
	if err != nil {
		return err
	}
	a.DB = db
	if db.SuppressionKey, err = a.linkKey(); err != nil { // recognises erased addresses
		return err
	}
	_, err = db.Migrate(ctx)
	return err
}

// dbMissing says so when the configuration names a SQLite file that is not
// there: opening it would make an empty one.
func (a *App) dbMissing() error {
	if path := a.Config.Database.Path(); path != "" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			abs, _ := filepath.Abs(path)
			return fmt.Errorf("no database at %s: run `practicemail migrate` or `practicemail run` first", abs)
		}
	}
	return nil
}

// feedSpecs are the configured feeds as the feeds table holds them.
func (a *App) feedSpecs() []store.FeedSpec {
	specs := make([]store.FeedSpec, len(a.Config.Feeds))
	for i, f := range a.Config.Feeds {
		specs[i] = store.FeedSpec{Name: f.Name, URL: f.URL, Every: f.Every, HoldOver: f.HoldOver, Digest: f.DigestAt()}
	}
	return specs
}

func (a *App) openMail(ctx context.Context) error {
	s := a.Config.SMTP
	o := mail.Options{URL: s.URL, TLS: s.TLS, Connections: s.Connections, Timeout: s.Timeout, OutboxDir: s.OutboxDir}
	if s.DKIMDomain != "" {
		o.DKIM = &mail.DKIMOptions{Domain: s.DKIMDomain, Selector: s.DKIMSelector, KeyFile: s.DKIMKeyFile}
	}
	o.ReturnPath = s.ReturnPath
	if a.Redis != nil && !s.Rate.Unlimited() {
		o.Limiter = mail.NewLimiter(a.Redis, s.Rate.N, s.Rate.Per)
	}
	sender, err := mail.Open(ctx, o)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	a.Mail = sender
	return nil
}

func (a *App) buildWorker(o worker.Options) error {
	eng, err := templates.New()
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	key, err := a.linkKey()
	if err != nil {
		return err
	}
	a.linkKeyBytes = key
	signer, err := links.NewSigner(a.Config.Practice.BaseURL, key, a.DB.Now)
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	instance, err := a.DB.InstanceID(context.Background())
	if err != nil {
		return err
	}
	if o.InFlight == 0 {
		o.InFlight = a.Config.SMTP.Connections
	}
	if o.BatchSize == 0 {
		o.BatchSize = a.Config.Worker.BatchSize
	}
	w := worker.New(a.DB, o)
	w.Instance = instance
	w.Queue, w.Inspector, w.Mail, w.Templates, w.Links, w.Log = a.Queue, a.Inspector, a.Mail, eng, signer, a.Log
	w.Fetcher = feeds.NewFetcher(feeds.FetcherOptions{UserAgent: feeds.UserAgent(version)})
	p := a.Config.Practice
	w.Practice = worker.Practice{Name: p.Name, From: p.From, ReplyTo: p.ReplyTo, PostalAddress: p.PostalAddress, TimeZone: p.Location}
	w.Practice.BaseURL = p.BaseURL
	if err := a.inquiryWork(w, eng); err != nil {
		return err
	}
	a.Worker = w
	return nil
}

// linkKey is secrets.link_key or, on a localhost install where config allows
// none, a development key generated once and kept beside the outbox.
func (a *App) linkKey() ([]byte, error) {
	if k := a.Config.Secrets.LinkKey; k != "" {
		return []byte(k), nil
	}
	path := filepath.Join(a.dataDir(), "dev-link.key")
	if b, err := os.ReadFile(path); err == nil && len(b) >= links.MinKeyLen {
		return b, nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("development link key: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("development link key: %w", err)
	}
	a.Log.Warn("generated_development_link_key", "path", path, "hint", "set secrets.link_key before going public")
	return b, nil
}

// sealer seals inquiries with secrets.data_key and opens them with it or
// any of secrets.data_key_previous. Without a data key it is an error
// saying how to make one: config validation requires the key whenever the
// inquiry routes are on, so only a command run against an install without
// inquiries sees it.
func (a *App) sealer() (*seal.Sealer, error) {
	keys := a.Config.Secrets.DataKeys()
	if len(keys) == 0 {
		return nil, errors.New("secrets.data_key is not set: make one with `openssl rand -base64 32` and set it (or PRACTICEMAIL_SECRETS_DATA_KEY_FILE)")
	}
	s, err := seal.New(keys...)
	if err != nil {
		return nil, fmt.Errorf("secrets.data_key: %w", err)
	}
	return s, nil
}

// classifier tells urgent inquiries with the built-in crisis phrases and
// inquiries.crisis_words. Config validation refuses a phrase crisis.New
// would refuse; should one still get through (a Config built in code), the
// error is logged and the built-in phrases alone are used: a missed crisis
// word must not stop inquiries from being received.
func (a *App) classifier() *crisis.Classifier {
	c, err := crisis.New(a.Config.Inquiries.CrisisWords)
	if err == nil {
		return c
	}
	a.Log.Error("crisis_words_refused", "err", err)
	c, _ = crisis.New(nil) // the built-in phrases always compile
	return c
}

// dataDir is where practicemail keeps local files of its own: the directory
// holding the outbox (data/ by default).
func (a *App) dataDir() string {
	return filepath.Dir(filepath.Clean(a.Config.SMTP.OutboxDir))
}

// Close releases everything, in reverse order of opening.
func (a *App) Close() error {
	var errs []error
	if a.Mail != nil {
		errs = append(errs, a.Mail.Close())
	}
	if a.Queue != nil {
		a.Queue.Close()
	}
	if a.Redis != nil {
		errs = append(errs, a.Redis.Close())
	}
	if a.redisChild != nil {
		errs = append(errs, a.redisChild.stop())
	}
	if a.DB != nil {
		errs = append(errs, a.DB.Close())
	}
	return errors.Join(errs...)
}

func newLogger(w interface{ Write([]byte) (int, error) }, c config.Log) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
