package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/status"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
	"github.com/practicemail/practicemail/worker"
)

// TestReadSaysWhyTheQueuesAreMissing: a report is made whatever Redis
// does; its queues are there when read, and otherwise Redis says why,
// whether Queues failed or was never given.
func TestReadSaysWhyTheQueuesAreMissing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, c := range []struct {
			name    string
			src     status.Source
			queues  bool
			because string
		}{
			{"read", status.Source{Queues: func() (map[string]worker.QueueSize, error) {
				return map[string]worker.QueueSize{"mail": {Pending: 2}}, nil
			}}, true, ""},
			{"failed", status.Source{Queues: func() (map[string]worker.QueueSize, error) {
				return nil, errors.New("dial tcp 127.0.0.1:6379: connection refused")
			}}, false, "connection refused"},
			{"not given", status.Source{NoRedis: "redis at 127.0.0.1:6379 does not answer"}, false, "does not answer"},
		} {
			c.src.DB = db
			rep, err := status.Read(ctx, c.src, false)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := rep.Queues["mail"].Pending == 2; got != c.queues || !strings.Contains(rep.Redis, c.because) ||
				(c.because == "" && rep.Redis != "") {
				t.Errorf("%s: queues %v, redis %q", c.name, rep.Queues, rep.Redis)
			}
		}
	})
}

// TestReadPutsTimesInThePracticesZoneAndListsAsJSONLists: the feed's
// times are in the zone given, a time never reached stays zero (and is
// left out of the JSON), and empty lists are [] rather than null, for
// scripts reading `status --json`.
func TestReadPutsTimesInThePracticesZoneAndListsAsJSONLists(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.SyncFeeds(ctx, []store.FeedSpec{{Name: "blog", URL: "https://user:secret@blog.example/feed"}}); err != nil {
			t.Fatal(err)
		}
		denver, err := time.LoadLocation("America/Denver")
		if err != nil {
			t.Fatal(err)
		}
		rep, err := status.Read(ctx, status.Source{DB: db, Location: denver}, false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.TimeZone != "America/Denver" || len(rep.Feeds) != 1 || strings.Contains(rep.Feeds[0].URL, "secret") {
			t.Fatalf("report: %+v", rep)
		}
		if f := rep.Feeds[0]; !f.PolledAt.IsZero() || !f.LastOKAt.IsZero() {
			t.Errorf("a feed never polled: polled %v, ok %v", f.PolledAt, f.LastOKAt)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		js := string(b)
		for _, want := range []string{`"sending":[]`, `"failed_posts":[]`, `"latest":[]`} {
			if !strings.Contains(js, want) {
				t.Errorf("no %s in %s", want, js)
			}
		}
		if strings.Contains(js, `"polled_at"`) {
			t.Errorf("a feed never polled has a polled_at: %s", js)
		}

		// Polled: its times in Denver's zone.
		f, err := db.FeedByName(ctx, "blog")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SavePoll(ctx, f.ID, store.PollOutcome{Next: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		rep, err = status.Read(ctx, status.Source{DB: db, Location: denver}, false)
		if err != nil {
			t.Fatal(err)
		}
		if f := rep.Feeds[0]; f.PolledAt.IsZero() || f.PolledAt.Location() != denver || f.NextPollAt.Location() != denver {
			t.Errorf("a feed polled: polled %v, next %v", f.PolledAt, f.NextPollAt)
		}
	})
}
