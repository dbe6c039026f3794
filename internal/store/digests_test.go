package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// digestClock is a database clock that moves only when told.
type digestClock struct{ now time.Time }

func (c *digestClock) Now() time.Time { return c.now }

// digestFeed syncs one feed sent as a digest and returns it.
func digestFeed(t *testing.T, db *store.DB, digest string) *store.Feed {
	t.Helper()
	must(t, db.SyncFeeds(ctx, []store.FeedSpec{{Name: "blog", URL: "https://a.example/feed", Every: time.Minute, Digest: digest}}))
	f, err := db.FeedByName(ctx, "blog")
	must(t, err)
	return f
}

// newPost stores one new post of feed f with identity key and title.
func newPost(t *testing.T, db *store.DB, f *store.Feed, key, title string) {
	t.Helper()
	_, err := db.SavePoll(ctx, f.ID, store.PollOutcome{Next: time.Now(), New: []store.Post{{Key: key, Title: title, Hash: title}}})
	must(t, err)
}

func titlesOf(t *testing.T, db *store.DB, digestID int64) []string {
	t.Helper()
	posts, err := db.DigestPosts(ctx, digestID)
	must(t, err)
	var out []string
	for _, p := range posts {
		out = append(out, p.Title)
	}
	return out
}

// A digest is written once per (feed, period end) and lists the posts
// first seen before its end that no earlier digest listed: an edited post
// is one row listed once with its new title, a post that arrived after the
// digest was written waits for the next, and a period without posts is
// written empty.
func TestWriteDigestListsEachPostOnceAndIsWrittenOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &digestClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
		db.Now = clock.Now
		f := digestFeed(t, db, "Mon 09:00")
		clock.now = clock.now.Add(time.Hour)
		newPost(t, db, f, "a", "First")
		newPost(t, db, f, "b", "Second, before the edit")
		_, err := db.SavePoll(ctx, f.ID, store.PollOutcome{Next: time.Now(), Baseline: []store.Post{{Key: "old", Title: "Baseline"}},
			Updated: []store.Post{{Key: "b", Title: "Second", Hash: "edited"}}})
		must(t, err)
		end := clock.now.Add(time.Hour)
		d, created, err := db.WriteDigest(ctx, f.ID, clock.now.Add(-time.Hour), end)
		must(t, err)
		if !created || d.State != store.DigestSending || d.Posts != 2 {
			t.Fatalf("first write: created %v, %+v; want created, sending, 2 posts", created, d)
		}
		if got := titlesOf(t, db, d.ID); !cmp.Equal(got, []string{"First", "Second"}) {
			t.Errorf("digest lists %q, want First and the edited Second once", got)
		}
		again, created, err := db.WriteDigest(ctx, f.ID, clock.now.Add(-time.Hour), end)
		must(t, err)
		if created || again.ID != d.ID || again.Posts != 2 {
			t.Errorf("second write of the same period: created %v, %+v; want the first digest", created, again)
		}
		newPost(t, db, f, "c", "Late") // reached the database after the digest was written
		next, _, err := db.WriteDigest(ctx, f.ID, end, end.Add(7*24*time.Hour))
		must(t, err)
		if got := titlesOf(t, db, next.ID); !cmp.Equal(got, []string{"Late"}) {
			t.Errorf("next digest lists %q, want only Late", got)
		}
		empty, _, err := db.WriteDigest(ctx, f.ID, end.Add(7*24*time.Hour), end.Add(14*24*time.Hour))
		must(t, err)
		if empty.State != store.DigestEmpty || empty.Posts != 0 {
			t.Errorf("a period without posts: %+v, want empty", empty)
		}
		feeds, err := db.DigestFeeds(ctx)
		must(t, err)
		if len(feeds) != 1 || !feeds[0].Last.Equal(end.Add(14*24*time.Hour)) || feeds[0].Digest != "Mon 09:00" {
			t.Errorf("digest feeds %+v, want blog with its latest digest's end", feeds)
		}
	})
}

// Posts first seen before a feed became a digest feed went to everyone one
// by one: its first digest does not list them again.
func TestADigestListsNothingFromBeforeTheFeedBecameADigestFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clock := &digestClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
		db.Now = clock.Now
		f := digestFeed(t, db, "")
		newPost(t, db, f, "a", "Sent to everyone")
		clock.now = clock.now.Add(time.Hour)
		digestFeed(t, db, "Tue 09:00")
		clock.now = clock.now.Add(time.Hour)
		newPost(t, db, f, "b", "For the digest")
		digestFeed(t, db, "Wed 09:00") // a new time keeps when it became a digest feed
		d, _, err := db.WriteDigest(ctx, f.ID, clock.now.Add(-48*time.Hour), clock.now.Add(time.Hour))
		must(t, err)
		if got := titlesOf(t, db, d.ID); !cmp.Equal(got, []string{"For the digest"}) {
			t.Errorf("digest lists %q, want only the post since the switch", got)
		}
		table, err := db.Feeds(ctx)
		must(t, err)
		var diffs []string
		for _, d := range store.DiffFeeds([]store.FeedSpec{{Name: "blog", URL: "https://a.example/feed", Every: time.Minute}}, table) {
			diffs = append(diffs, d.String())
		}
		want := []string{"feed blog: this configuration says digest none (each post), the running scheduler uses Wed 09:00"}
		if !cmp.Equal(diffs, want) {
			t.Errorf("differences %q, want %q", diffs, want)
		}
	})
}

// The fan-outs split the posts topic by the subscriber's choice: a post of
// a digest feed goes to those who chose each post, a digest to those who
// chose the digest, and a post of a feed of each post to everyone.
func TestFanOutsFollowTheDigestChoice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		must(t, db.SyncFeeds(ctx, []store.FeedSpec{
			{Name: "weekly", URL: "https://a.example/w", Every: time.Minute, Digest: "Mon 09:00"},
			{Name: "each", URL: "https://a.example/e", Every: time.Minute},
		}))
		var ids []int64
		for i := range 4 {
			r, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: fmt.Sprintf("p%d@example.com", i), Confirmed: true})
			must(t, err)
			ids = append(ids, r.ID)
		}
		must(t, db.SetDigestChoice(ctx, ids[1], true))
		must(t, db.SetDigestChoice(ctx, ids[3], true))
		must(t, db.SetDigestChoice(ctx, ids[3], false)) // changed their mind
		if on, err := db.DigestChoice(ctx, ids[1]); err != nil || !on {
			t.Fatalf("p1's choice: %v %v, want the digest", on, err)
		}
		if err := db.SetDigestChoice(ctx, 999999, true); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown subscriber: %v, want ErrNotFound", err)
		}
		recipients := func(kind string, source int64) []string {
			t.Helper()
			page, err := db.FanOut(ctx, kind, source, store.TopicPosts, 100)
			must(t, err)
			var out []string
			claimed, err := db.Claim(ctx, page.Batch, "test", time.Now().Add(time.Minute))
			must(t, err)
			for _, c := range claimed {
				out = append(out, c.Recipient)
			}
			return out
		}
		weekly, err := db.FeedByName(ctx, "weekly")
		must(t, err)
		each, err := db.FeedByName(ctx, "each")
		must(t, err)
		newPost(t, db, weekly, "w1", "Weekly post")
		newPost(t, db, each, "e1", "Each post")
		wp, err := db.PostsInState(ctx, store.PostNew, weekly.ID)
		must(t, err)
		ep, err := db.PostsInState(ctx, store.PostNew, each.ID)
		must(t, err)
		d, _, err := db.WriteDigest(ctx, weekly.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		must(t, err)
		for _, tc := range []struct {
			name   string
			kind   string
			source int64
			want   []string
		}{
			{"post of the digest feed", store.KindPost, wp[0].ID, []string{"p0@example.com", "p2@example.com", "p3@example.com"}},
			{"digest", store.KindDigest, d.ID, []string{"p1@example.com"}},
			{"post of the feed of each post", store.KindPost, ep[0].ID, []string{"p0@example.com", "p1@example.com", "p2@example.com", "p3@example.com"}},
		} {
			if got := recipients(tc.kind, tc.source); !cmp.Equal(got, tc.want) {
				t.Errorf("%s goes to %q, want %q", tc.name, got, tc.want)
			}
		}
	})
}

// A digest that cannot be rendered is failed once, with its reason, and
// its queued deliveries fail with it instead of waiting for ever.
func TestFailDigestFailsItsQueuedDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := digestFeed(t, db, "Mon 09:00")
		newPost(t, db, f, "a", "First")
		r, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "ann@example.com", Confirmed: true})
		must(t, err)
		must(t, db.SetDigestChoice(ctx, r.ID, true))
		d, _, err := db.WriteDigest(ctx, f.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		must(t, err)
		if _, err := db.FanOut(ctx, store.KindDigest, d.ID, store.TopicPosts, 10); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{true, false} {
			moved, err := db.FailDigest(ctx, d.ID, fmt.Sprintf("no postal address (%d)", i))
			if err != nil || moved != want {
				t.Fatalf("FailDigest #%d: moved %v, %v; want %v", i+1, moved, err, want)
			}
		}
		if d, err := db.DigestByID(ctx, d.ID); err != nil || d.State != store.DigestFailed {
			t.Errorf("digest %+v (%v), want failed", d, err)
		}
		p, err := db.ExportPerson(ctx, "ann@example.com")
		must(t, err)
		want := "not sent: the digest could not be rendered: no postal address (0)"
		if len(p.Deliveries) != 1 || p.Deliveries[0].State != store.DeliveryFailed || p.Deliveries[0].LastReply != want {
			t.Errorf("deliveries %+v, want one failed with %q", p.Deliveries, want)
		}
	})
}
