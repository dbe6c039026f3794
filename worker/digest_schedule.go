package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/store"
)

// lastDigestTime returns the latest digest time at or before now: the
// latest day d.Day, at d.Hour:d.Minute on the wall clock of loc. It counts
// in calendar days, not in hours, so a digest set for Monday 09:00 is at
// 09:00 local on the Monday after a change to or from daylight saving time
// too (a week of 167 or 169 hours). A wall time that a change skips (02:30
// on the night clocks go forward) is read as time.Date reads it, an hour
// later.
func lastDigestTime(d config.DigestTime, now time.Time, loc *time.Location) time.Time {
	local := now.In(loc)
	back := (int(local.Weekday()) - int(d.Day) + 7) % 7
	at := time.Date(local.Year(), local.Month(), local.Day()-back, d.Hour, d.Minute, 0, 0, loc)
	if at.After(now) {
		at = time.Date(local.Year(), local.Month(), local.Day()-back-7, d.Hour, d.Minute, 0, 0, loc)
	}
	return at
}

// digestPeriod decides the digest feed f owes at now, if any: the period
// from the end of its latest digest (or, for its first, from when the feed
// became a digest feed) to the latest digest time. A digest time that passed
// while nothing ran is owed once, however many weeks ago the latest digest
// was: its period reaches back to that one. Nothing is owed for a digest
// time already written, or one before the feed became a digest feed.
func digestPeriod(f store.DigestFeed, now time.Time, loc *time.Location) (start, end time.Time, owed bool) {
	d, err := config.ParseDigest(f.Digest)
	if err != nil {
		return time.Time{}, time.Time{}, false // validated at load; a table written by another version
	}
	end = lastDigestTime(d, now, loc)
	if end.Before(f.Since) || (!f.Last.IsZero() && !end.After(f.Last)) {
		return time.Time{}, time.Time{}, false
	}
	start = f.Last
	if start.Before(f.Since) { // the first, or the first since it became one again
		start = f.Since
	}
	return start, end, true
}

// scheduleDigests writes the digests that are owed and makes sure that the
// fan-out of each digest still sending has a task. The leading scheduler
// calls it every round: the digests table, not Redis, says what is owed and
// what is done, so a restart or a Redis that lost its data sends each
// digest once, and a digest row is written once however many schedulers
// try (store.DB.WriteDigest).
func (w *Worker) scheduleDigests(ctx context.Context) error {
	feeds, err := w.DB.DigestFeeds(ctx)
	if err != nil {
		return err
	}
	now, loc := w.now(), w.location()
	for _, f := range feeds {
		start, end, owed := digestPeriod(f, now, loc)
		if !owed {
			continue
		}
		d, created, err := w.DB.WriteDigest(ctx, f.ID, start, end)
		if err != nil {
			return err
		}
		if created {
			w.Log.Info("digest_written", "feed", f.Name, "digest_id", d.ID, "posts", d.Posts,
				"period_start", d.Start.In(loc).Format(time.RFC3339), "period_end", d.End.In(loc).Format(time.RFC3339))
		}
	}
	sending, err := w.DB.SendingDigests(ctx)
	if err != nil {
		return err
	}
	for _, d := range sending {
		id := d.ID
		// since now: a fan-out under way is left alone; asynq hands back
		// the task of a worker that died.
		if _, err := w.ensure(ctx, digestFanoutTaskID(w.Instance, id), QueueControl, now, func(round string) *asynq.Task {
			return newDigestFanoutTask(w.Instance, id, round)
		}); err != nil {
			return err
		}
	}
	return nil
}

// location is the practice's time zone, in which digest times are read.
func (w *Worker) location() *time.Location {
	if w.Practice.TimeZone != nil {
		return w.Practice.TimeZone
	}
	return time.UTC
}
