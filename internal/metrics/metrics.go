// Package metrics is practicemail's /metrics: what `practicemail status`
// prints, in Prometheus's text format. Each scrape reads SQL and Redis, so
// any one `web` (or `run`) process answers for the whole installation, and
// several of them answer alike; only the go_* and process_* series are the
// answering process's own.
//
// Nothing here names a person: no address, subject, post title or inquiry.
// Labels are states, kinds, queue names and the feed names of the
// configuration.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/worker"
)

// Source is what a scrape reads.
type Source struct {
	DB *store.DB
	// Queues reads the task queues' sizes (worker.QueueSizes); nil leaves
	// the queue series and practicemail_up{source="redis"} out.
	Queues func() (map[string]worker.QueueSize, error)
	// Timeout bounds one scrape's reads; zero is DefaultTimeout.
	Timeout time.Duration
	Log     *slog.Logger
}

// DefaultTimeout is a scrape's bound on its reads: under Prometheus's own
// default scrape timeout (10 s), so that a stuck database shows as
// practicemail_up 0 rather than as a failed scrape.
const DefaultTimeout = 8 * time.Second

// The states every scrape reports, with 0 where none are in it, so that a
// series does not vanish when its count reaches nothing. A state the
// database holds that is not listed here is reported too.
var (
	subscriberStates = []string{store.StatusPending, store.StatusActive, store.StatusUnsubscribed,
		store.StatusBounced, store.StatusComplained, store.StatusErased}
	postStates = []string{store.PostNew, store.PostHeld, store.PostSending, store.PostSent,
		store.PostFailed, store.PostBaseline, store.PostSkipped}
	deliveryStates = []string{store.DeliveryQueued, store.DeliverySending, store.DeliverySent,
		store.DeliveryFailed, store.DeliverySuppressed, store.DeliveryUnknown}
	bounceTypes = []string{store.BounceHard, store.BounceSoft, store.BounceComplaint}
)

var (
	up = prometheus.NewDesc("practicemail_up",
		"Whether this scrape could read the source (database, redis): 1 or 0.", []string{"source"}, nil)
	subscribers = prometheus.NewDesc("practicemail_subscribers",
		"People on the list by status; an erased person is counted as erased.", []string{"status"}, nil)
	posts = prometheus.NewDesc("practicemail_posts",
		"Posts by state; a post is sending until every delivery of it is final.", []string{"state"}, nil)
	deliveries = prometheus.NewDesc("practicemail_deliveries",
		"Rows of the deliveries ledger by state: one per email (post, confirmation, sequence step, campaign, digest) and recipient.",
		[]string{"state"}, nil)
	unfolded = prometheus.NewDesc("practicemail_deliveries_unfolded",
		"Outcomes kept in the journal because writing them to their rows failed (a full disk, a read-only database). Above 0 needs a look.",
		nil, nil)
	bounces = prometheus.NewDesc("practicemail_bounces_30d",
		"Bounces and complaints recorded in the last 30 days, by type.", []string{"type"}, nil)
	feedPolled = prometheus.NewDesc("practicemail_feed_last_poll_timestamp_seconds",
		"When the feed was last polled, whatever the result (Unix time).", []string{"feed"}, nil)
	feedOK = prometheus.NewDesc("practicemail_feed_last_success_timestamp_seconds",
		"When a poll of the feed last succeeded (Unix time).", []string{"feed"}, nil)
	feedFailures = prometheus.NewDesc("practicemail_feed_failures",
		"Polls of the feed that have failed in a row since its last success.", []string{"feed"}, nil)
	feedEnabled = prometheus.NewDesc("practicemail_feed_enabled",
		"Whether the feed is polled (1) or was removed from the configuration (0).", []string{"feed"}, nil)
	queueTasks = prometheus.NewDesc("practicemail_queue_tasks",
		"Tasks in the Redis queues by queue and state.", []string{"queue", "state"}, nil)
)

// Handler answers a scrape. Reads that fail are logged and reported as
// practicemail_up 0 for their source; the answer is still 200 with the rest.
func Handler(src Source) http.Handler {
	base := prometheus.NewRegistry()
	base.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), src.timeout())
		defer cancel()
		reg := prometheus.NewRegistry()
		reg.MustRegister(src.read(ctx))
		promhttp.HandlerFor(prometheus.Gatherers{base, reg}, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
}

func (src Source) timeout() time.Duration {
	if src.Timeout <= 0 {
		return DefaultTimeout
	}
	return src.Timeout
}

func (src Source) logger() *slog.Logger {
	if src.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return src.Log
}

// snapshot is one scrape's readings, as a collector of constant metrics.
type snapshot []prometheus.Metric

// Describe sends nothing: the series depend on what was read (the feeds,
// the states present), so the registry takes it as an unchecked collector.
func (snapshot) Describe(chan<- *prometheus.Desc) {}

func (s snapshot) Collect(ch chan<- prometheus.Metric) {
	for _, m := range s {
		ch <- m
	}
}

func (s *snapshot) add(d *prometheus.Desc, v float64, labels ...string) {
	*s = append(*s, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
}

// byLabel adds one series per key of counts, and 0 for each of known that
// counts lacks.
func (s *snapshot) byLabel(d *prometheus.Desc, counts map[string]int64, known []string) {
	for _, k := range known {
		s.add(d, float64(counts[k]), k)
	}
	for k, n := range counts {
		if !slices.Contains(known, k) {
			s.add(d, float64(n), k)
		}
	}
}

func (src Source) read(ctx context.Context) snapshot {
	var s snapshot
	if err := s.readDB(ctx, src.DB); err != nil {
		src.logger().Warn("metrics_read_failed", "source", "database", "error", err)
		s.add(up, 0, "database")
	} else {
		s.add(up, 1, "database")
	}
	if src.Queues == nil {
		return s
	}
	sizes, err := src.Queues()
	if err != nil {
		src.logger().Warn("metrics_read_failed", "source", "redis", "error", err)
		s.add(up, 0, "redis")
		return s
	}
	s.add(up, 1, "redis")
	for q, n := range sizes {
		s.add(queueTasks, float64(n.Pending), q, "pending")
		s.add(queueTasks, float64(n.Active), q, "active")
		s.add(queueTasks, float64(n.Scheduled), q, "scheduled")
		s.add(queueTasks, float64(n.Retry), q, "retry")
		s.add(queueTasks, float64(n.Archived), q, "archived")
	}
	return s
}

// readDB adds the database's series; on an error it adds none of them, so
// that a half-read scrape never reports a count as 0.
func (s *snapshot) readDB(ctx context.Context, db *store.DB) error {
	c, err := db.Counts(ctx)
	if err != nil {
		return err
	}
	b, err := db.Bounces(ctx, 0)
	if err != nil {
		return err
	}
	feeds, err := db.Feeds(ctx)
	if err != nil {
		return err
	}
	s.byLabel(subscribers, c.Subscribers, subscriberStates)
	s.byLabel(posts, c.Posts, postStates)
	s.byLabel(deliveries, c.Deliveries, deliveryStates)
	s.add(unfolded, float64(c.Unfolded))
	s.byLabel(bounces, b.Recent, bounceTypes)
	for _, f := range feeds {
		if !f.PolledAt.IsZero() {
			s.add(feedPolled, seconds(f.PolledAt), f.Name)
		}
		if !f.LastOKAt.IsZero() {
			s.add(feedOK, seconds(f.LastOKAt), f.Name)
		}
		s.add(feedFailures, float64(f.Failures), f.Name)
		s.add(feedEnabled, bool01(f.Enabled), f.Name)
	}
	return nil
}

func seconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
