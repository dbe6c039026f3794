package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// The schedule lives with the feed: a process polling it reads the owner's
// interval from the table, and a shorter one brings the next poll forward.
func TestSyncFeedsStoresTheScheduleAndAShorterIntervalBringsThePollForward(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		spec := store.FeedSpec{Name: "blog", URL: "https://a.example/feed", Every: 15 * time.Minute, HoldOver: 5}
		must(t, db.SyncFeeds(ctx, []store.FeedSpec{spec}))
		f, err := db.FeedByName(ctx, "blog")
		must(t, err)
		if f.Every != 15*time.Minute || f.HoldOver != 5 {
			t.Fatalf("stored every %s hold_over %d, want 15m and 5", f.Every, f.HoldOver)
		}
		polled := time.Now()
		_, err = db.SavePoll(ctx, f.ID, store.PollOutcome{Status: "ok", Next: polled.Add(15 * time.Minute)})
		must(t, err)
		spec.Every = 30 * time.Second
		must(t, db.SyncFeeds(ctx, []store.FeedSpec{spec}))
		f, err = db.FeedByName(ctx, "blog")
		must(t, err)
		if f.Every != 30*time.Second || f.NextPollAt.After(polled.Add(time.Minute)) {
			t.Fatalf("after 15m became 30s: every %s, next poll in %s; want 30s and about 30s", f.Every, time.Until(f.NextPollAt))
		}
	})
}

func TestDiffFeedsNamesEachDifferenceWithoutPasswords(t *testing.T) {
	table := []store.Feed{
		{Name: "blog", URL: "https://u:secret@a.example/feed", Enabled: true, Every: 30 * time.Second, HoldOver: 3},
		{Name: "old", URL: "https://a.example/old", Enabled: false, Every: time.Minute},
		{Name: "news", URL: "https://a.example/news", Enabled: true, Every: time.Minute},
	}
	mine := []store.FeedSpec{
		{Name: "blog", URL: "https://a.example/feed", Every: 15 * time.Minute, HoldOver: 3},
		{Name: "extra", URL: "https://a.example/extra", Every: time.Minute},
	}
	var got []string
	for _, d := range store.DiffFeeds(mine, table) {
		got = append(got, d.String())
	}
	want := []string{
		"feed blog: this configuration says url https://a.example/feed, the running scheduler uses https://u:xxxxx@a.example/feed",
		"feed blog: this configuration says every 15m0s, the running scheduler uses 30s",
		"feed extra: this configuration names it, the running scheduler does not poll it",
		"feed news: the running scheduler polls it, this configuration does not name it",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("differences (-want +got):\n%s", d)
	}
	same := []store.FeedSpec{{Name: "blog", URL: table[0].URL, Every: 30 * time.Second, HoldOver: 3},
		{Name: "news", URL: table[2].URL, Every: time.Minute}}
	if d := store.DiffFeeds(same, table); len(d) != 0 {
		t.Fatalf("the same configuration differs: %v", d)
	}
}

// Held posts are approved or skipped by ID; an ID that is not a held post
// refuses the whole request and changes nothing.
func TestDecideHeldMovesOnlyTheListedPostsAndRefusesUnknownIDs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		feed := addFeed(t, db)
		_, err := db.SavePoll(ctx, feed, store.PollOutcome{
			Held: []store.Post{post("a"), post("b"), post("c"), post("d")},
			New:  []store.Post{post("n")}, Next: time.Now()})
		must(t, err)
		held, err := db.PostsInState(ctx, store.PostHeld, feed)
		must(t, err)
		newPosts, err := db.PostsInState(ctx, store.PostNew, feed)
		must(t, err)
		a, b, c := held[0].ID, held[1].ID, held[2].ID

		_, err = db.DecideHeld(ctx, 0, []int64{a, 99999, newPosts[0].ID}, store.PostNew)
		var nh *store.NotHeldError
		if !errors.As(err, &nh) || !strings.Contains(err.Error(), "no post 99999") || !strings.Contains(err.Error(), "is new, not held") {
			t.Fatalf("DecideHeld with an unknown and a new post: %v; want a NotHeldError naming both", err)
		}
		if still, _ := db.PostsInState(ctx, store.PostHeld, feed); len(still) != 4 {
			t.Fatalf("a refused request changed posts: %d held, want 4", len(still))
		}
		approved, err := db.DecideHeld(ctx, 0, []int64{a}, store.PostNew)
		must(t, err)
		skipped, err := db.DecideHeld(ctx, feed, []int64{b, c}, store.PostSkipped)
		must(t, err)
		if len(approved) != 1 || approved[0].Title != held[0].Title || len(skipped) != 2 {
			t.Fatalf("approved %v, skipped %v", approved, skipped)
		}
		states := map[int64]string{}
		for _, id := range []int64{a, b, c, held[3].ID} {
			p, err := db.Post(ctx, id)
			must(t, err)
			states[id] = p.State
		}
		want := map[int64]string{a: store.PostNew, b: store.PostSkipped, c: store.PostSkipped, held[3].ID: store.PostHeld}
		if d := cmp.Diff(want, states); d != "" {
			t.Fatalf("states (-want +got):\n%s", d)
		}
	})
}
