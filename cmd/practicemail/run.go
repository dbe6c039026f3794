package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/metrics"
	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/status"
	"github.com/practicemail/practicemail/internal/web"
	"github.com/practicemail/practicemail/templates"
	"github.com/practicemail/practicemail/worker"
)

// roles are the parts of the program a process runs.
type roles struct{ web, worker, scheduler bool }

func cmdRun(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return m.serve(ctx, fs, args, roles{web: true, worker: true, scheduler: true})
}

func cmdWeb(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return m.serve(ctx, fs, args, roles{web: true})
}

func cmdWorker(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return m.serve(ctx, fs, args, roles{worker: true})
}

func cmdScheduler(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	return m.serve(ctx, fs, args, roles{scheduler: true})
}

// serve runs the given roles until ctx ends, then stops them in order: HTTP
// first, then the scheduler, then the worker, which lets running tasks finish
// or hands them back to the queue.
func (m *Main) serve(ctx context.Context, fs *flag.FlagSet, args []string, r roles) error {
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the whole run to this file")
	configPath, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	a, err := m.open(ctx, configPath, needs{redis: true, mail: r.worker, create: true})
	if err != nil {
		return err
	}
	defer a.Close()
	checkCtx, stopChecks := context.WithCancel(ctx) // as `practicemail check`, warnings only
	checked := m.checkAtStart(checkCtx, a)
	defer func() { stopChecks(); <-checked }()

	var httpSrv *web.Server
	if r.web {
		if httpSrv, err = newWebServer(a); err != nil {
			return err
		}
		if err := httpSrv.Start(); err != nil {
			return fmt.Errorf("http: listen on %s: %w", a.Config.HTTP.Addr, err)
		}
	}
	var srv *asynq.Server
	if r.worker {
		if srv, err = m.startWorker(ctx, a); err != nil {
			stopHTTP(httpSrv) // nothing else is started yet
			return err
		}
	}
	schedCtx, stopSched := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if r.scheduler {
		s := &worker.Scheduler{W: a.Worker, Redis: a.Redis, Feeds: a.feedSpecs(), Tick: m.SchedulerTick, Reconcile: m.ReconcileEvery}
		wg.Add(1)
		go func() { defer wg.Done(); s.Run(schedCtx) }()
	}
	m.announce(a, httpSrv, r)
	if m.Started != nil {
		m.Started(a)
	}
	<-ctx.Done()
	a.Log.Info("shutting_down")
	stopHTTP(httpSrv)
	stopSched()
	wg.Wait()
	if srv != nil {
		// Start no more messages; let those under way finish and be
		// recorded, and hand the rest of their batches back.
		a.Worker.Stop()
		srv.Shutdown()
		// A handler cancelled by Shutdown after its message's dot is still
		// waiting for the server's reply (at most smtp.timeout), and then
		// writes the outcome.
		if !a.Worker.Wait(a.Config.SMTP.Timeout + 5*time.Second) {
			a.Log.Warn("shutdown_left_sends_unfinished", "hint",
				"a message whose outcome was not written may be sent again after restart")
		}
	}
	a.Log.Info("stopped")
	return nil
}

// newWebServer wires the public pages to the store, the link signer, the
// worker's queue and a rate limiter on the shared Redis, so that several
// web processes behind a proxy count one client together.
func newWebServer(a *App) (*web.Server, error) {
	pages, err := templates.NewPages()
	if err != nil {
		return nil, fmt.Errorf("web pages: %w", err)
	}
	p := a.Config.Practice
	queues := func() (map[string]worker.QueueSize, error) { return worker.QueueSizes(a.Inspector) }
	srv := &web.Server{
		Addr: a.Config.HTTP.Addr, Log: a.Log,
		Checks:  map[string]web.Checker{"database": a.DB, "redis": redisPinger{a}},
		DB:      a.DB,
		Links:   a.Worker.Links,
		Pages:   pages,
		Queue:   a.Worker,
		Limiter: ratelimit.New(a.Redis, "practicemail:rl:"),
		Practice: web.Practice{Name: p.Name, BaseURL: p.BaseURL, PostalAddress: p.PostalAddress,
			BookingURL: p.BookingURL, TimeZone: p.TimeZone},

		AllowedOrigins: a.Config.HTTP.AllowedOrigins,
		TrustedProxies: a.Config.HTTP.TrustedProxies,
		RecordIP:       a.Config.Privacy.RecordIP,
		FormKey:        a.linkKeyBytes,
		WebhookKey:     []byte(a.Config.Secrets.WebhookKey),
		CalendlyKey:    []byte(a.Config.Secrets.CalendlyKey),
		CalcomSecret:   []byte(a.Config.Secrets.CalcomSecret),
		EraseKey:       a.linkKeyBytes,
		Now:            a.DB.Now,

		AdminPassword: a.Config.Secrets.AdminPassword,
		Metrics:       metrics.Handler(metrics.Source{DB: a.DB, Log: a.Log, Queues: queues}),
		Fanout:        a.Worker,
		Status: func(ctx context.Context) (status.Report, error) {
			return status.Read(ctx, status.Source{DB: a.DB, Location: a.Config.Practice.Location, Queues: queues}, false)
		},
	}
	if err := wireInquiries(a, srv); err != nil {
		return nil, err
	}
	return srv, nil
}

// wireInquiries turns the inquiry routes on when practice.notify_email is
// set: then the messages are sealed with secrets.data_key, classified with
// the crisis phrases and handed to the worker by id.
func wireInquiries(a *App, srv *web.Server) error {
	if a.Config.Practice.NotifyEmail == "" {
		return nil
	}
	sealer, err := a.sealer()
	if err != nil {
		return err
	}
	srv.Sealer, srv.Classifier, srv.InquiryQueue = sealer, a.classifier(), a.Worker
	srv.CrisisResources = a.Config.Inquiries.CrisisResources
	return nil
}

// stopHTTP stops h, if it runs, giving requests under way a few seconds.
func stopHTTP(h *web.Server) {
	if h == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.Shutdown(ctx)
}

// startWorker reclaims what a previous life of this worker left unfinished,
// re-enqueues what Redis lacks, and starts processing.
func (m *Main) startWorker(ctx context.Context, a *App) (*asynq.Server, error) {
	if n, err := a.Worker.Reconcile(ctx, true); err != nil {
		return nil, fmt.Errorf("reconcile at start: %w", err)
	} else if n > 0 {
		a.Log.Info("reconciled_at_start", "enqueued", n)
	}
	return a.Worker.Start(a.Redis, worker.ServerOptions{Concurrency: a.Config.Worker.Concurrency, QueuePoll: m.QueuePoll})
}

func (m *Main) announce(a *App, h *web.Server, r roles) {
	mailTo := "SMTP " + redactURL(a.Config.SMTP.URL)
	if a.Config.SMTP.URL == "" {
		mailTo = "the outbox at " + a.Config.SMTP.OutboxDir + " (no smtp.url set: nothing leaves this machine)"
	}
	fmt.Fprintf(m.Stderr, "practicemail %s\n  database: %s %s\n  redis:    %s\n", version,
		a.DB.Engine(), redactURL(a.Config.Database.URL), a.redisDesc)
	if r.worker {
		fmt.Fprintf(m.Stderr, "  mail:     %s\n", mailTo)
	}
	if r.web {
		fmt.Fprintf(m.Stderr, "  http:     %s (health: /healthz, /readyz)\n", h.URL())
		if a.Config.Secrets.AdminPassword != "" {
			fmt.Fprintln(m.Stderr, "  admin:    /admin/ and /metrics (Prometheus), behind secrets.admin_password")
		} else {
			fmt.Fprintln(m.Stderr, "  admin:    off: set secrets.admin_password for /admin/ and /metrics")
		}
	}
	if r.scheduler {
		for _, f := range a.Config.Feeds {
			fmt.Fprintf(m.Stderr, "  feed:     %s %s every %s\n", f.Name, redactURL(f.URL), f.Every)
		}
		if len(a.Config.Feeds) > 0 {
			fmt.Fprintln(m.Stderr, "            (applied while this scheduler leads; a scheduler already leading keeps its own)")
		}
		if len(a.Config.Feeds) == 0 {
			fmt.Fprintln(m.Stderr, "  feeds:    none configured: add one under feeds: in the config, or run with\n"+
				"            PRACTICEMAIL_FEEDS_0_NAME=blog PRACTICEMAIL_FEEDS_0_URL=https://your-blog.example/feed/")
		}
	}
	fmt.Fprintf(m.Stderr, "  cores:    Go code runs on %d of %d (GOMAXPROCS)\n", runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintln(m.Stderr, "  stop with Ctrl-C")
}

type redisPinger struct{ a *App }

func (r redisPinger) Ping(ctx context.Context) error { return r.a.Redis.Ping(ctx).Err() }
