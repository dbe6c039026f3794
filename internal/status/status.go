// Package status gathers what `practicemail status` prints and the admin
// page shows: subscribers, posts and deliveries by state, the posts still
// on their way, bounces, the feeds' last polls and the task queues.
package status

import (
	"context"
	"time"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/worker"
)

// FailuresShown caps the failed deliveries a report lists.
const FailuresShown = 1000

// BouncesShown is how many of the latest bounces a report lists.
const BouncesShown = 5

// Report is the whole summary; as JSON (`status --json`), its fields as
// they are, every time in the practice's time zone.
type Report struct {
	TimeZone string `json:"time_zone"` // of every time in the report
	*store.Counts
	Sending     []store.PostProgress        `json:"sending"`      // posts still on their way
	FailedPosts []store.FailedPost          `json:"failed_posts"` // posts that could not be rendered
	Failures    []store.Failure             `json:"failures,omitempty"`
	Bounces     *store.BounceSummary        `json:"bounces"`
	Queues      map[string]worker.QueueSize `json:"queues,omitempty"`
	Redis       string                      `json:"redis_error,omitempty"` // why Queues is missing
	Feeds       []Feed                      `json:"feeds"`
}

// Feed is one feed's polling, its URL without any password.
type Feed struct {
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

// Source is what a report reads.
type Source struct {
	DB       *store.DB
	Location *time.Location // the practice's time zone; nil is UTC
	// Queues reads the task queues' sizes (worker.QueueSizes); nil, or an
	// error, leaves them out and says why in Report.Redis. A report is
	// still made while Redis is down.
	Queues func() (map[string]worker.QueueSize, error)
	// NoRedis is why Queues is nil, if it is ("" for no reason given).
	NoRedis string
}

// Read gathers the report; with failures, the latest FailuresShown failed
// deliveries too.
func Read(ctx context.Context, src Source, failures bool) (Report, error) {
	loc := src.Location
	if loc == nil {
		loc = time.UTC
	}
	db := src.DB
	rep := Report{TimeZone: loc.String()}
	var err error
	if rep.Counts, err = db.Counts(ctx); err != nil {
		return rep, err
	}
	if rep.Sending, err = db.Sending(ctx); err != nil {
		return rep, err
	}
	if rep.FailedPosts, err = db.FailedPosts(ctx); err != nil {
		return rep, err
	}
	for i := range rep.FailedPosts {
		rep.FailedPosts[i].At = rep.FailedPosts[i].At.In(loc)
	}
	if failures {
		if rep.Failures, err = db.Failures(ctx, FailuresShown); err != nil {
			return rep, err
		}
		for i := range rep.Failures {
			rep.Failures[i].At = inZone(rep.Failures[i].At, loc)
		}
	}
	if rep.Bounces, err = db.Bounces(ctx, BouncesShown); err != nil {
		return rep, err
	}
	for i := range rep.Bounces.Latest {
		rep.Bounces.Latest[i].At = rep.Bounces.Latest[i].At.In(loc)
	}
	// [] in JSON, not null
	rep.Bounces.Latest = nonNil(rep.Bounces.Latest)
	rep.Sending, rep.FailedPosts = nonNil(rep.Sending), nonNil(rep.FailedPosts)
	feeds, err := db.Feeds(ctx)
	if err != nil {
		return rep, err
	}
	for _, f := range feeds {
		rep.Feeds = append(rep.Feeds, Feed{f.Name, config.RedactURL(f.URL), f.Enabled, inZone(f.PolledAt, loc),
			inZone(f.LastOKAt, loc), f.LastStatus, f.LastError, f.Failures, inZone(f.NextPollAt, loc)})
	}
	switch {
	case src.Queues == nil:
		rep.Redis = src.NoRedis
	default:
		if rep.Queues, err = src.Queues(); err != nil {
			rep.Redis = err.Error()
		}
	}
	return rep, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// inZone is t in loc; the zero time stays zero.
func inZone(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}
