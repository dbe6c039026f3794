package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// fannedOut stores one new post, fans it out to n active subscribers in one
// batch, stores it as sent (every recipient in the ledger) and claims the
// batch for "w".
func fannedOut(t *testing.T, db *store.DB, n int) (int64, []store.Claimed) {
	t.Helper()
	addSubscribers(t, db, n, store.StatusActive, "posts")
	ids, err := db.SavePoll(ctx, addFeed(t, db), store.PollOutcome{New: []store.Post{post("c")}, Next: time.Now()})
	must(t, err)
	id := ids[0]
	_, err = db.SetPostState(ctx, id, store.PostNew, store.PostSending)
	must(t, err)
	page, err := db.FanOut(ctx, store.KindPost, id, "posts", 100)
	must(t, err)
	for batch := page.Batch; !page.Done; {
		page, err = db.FanOut(ctx, store.KindPost, id, "posts", 100)
		must(t, err)
		page.Batch = batch
	}
	_, err = db.SetPostState(ctx, id, store.PostSending, store.PostSent)
	must(t, err)
	rows, err := db.Claim(ctx, page.Batch, "w", time.Now().Add(time.Minute))
	must(t, err)
	return id, rows
}

func postCounts(t *testing.T, db *store.DB) map[string]int64 {
	t.Helper()
	c, err := db.Counts(ctx)
	must(t, err)
	return c.Posts
}

// Issue 7 item 11: status called a post sent while 3 of its 3 deliveries
// were still to go. A post is sent once every delivery is final.
func TestAPostIsSentOnlyOnceEveryDeliveryIsFinal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, rows := fannedOut(t, db, 3)
		if d := cmp.Diff(map[string]int64{store.PostSending: 1}, postCounts(t, db)); d != "" {
			t.Fatalf("with 3 of 3 to go (-want +got):\n%s", d)
		}
		for i, state := range []string{store.DeliverySent, store.DeliveryFailed} {
			_, err := db.Record(ctx, "w", store.Outcome{ID: rows[i].ID, State: state, Reply: "250"})
			must(t, err)
		}
		if d := cmp.Diff(map[string]int64{store.PostSending: 1}, postCounts(t, db)); d != "" {
			t.Fatalf("with 1 of 3 to go (-want +got):\n%s", d)
		}
		_, err := db.Record(ctx, "w", store.Outcome{ID: rows[2].ID, State: store.DeliverySuppressed, Reply: "gone"})
		must(t, err)
		if d := cmp.Diff(map[string]int64{store.PostSent: 1}, postCounts(t, db)); d != "" {
			t.Fatalf("with every delivery final (-want +got):\n%s", d)
		}
	})
}

// Issue 7 item 4: a post that cannot be rendered is failed with its
// reason, and its deliveries leave the queue failed with it, instead of
// sitting there for ever.
func TestAPostThatCannotBeRenderedFailsWithItsQueuedDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		id, rows := fannedOut(t, db, 3)
		_, err := db.Record(ctx, "w", store.Outcome{ID: rows[0].ID, State: store.DeliverySent, Reply: "250 ok"})
		must(t, err)
		moved, err := db.FailPost(ctx, id, "templates: post: boom")
		must(t, err)
		if !moved {
			t.Fatal("FailPost reported the post already failed")
		}
		if again, err := db.FailPost(ctx, id, "another reason"); err != nil || again {
			t.Fatalf("FailPost again = %v, %v; want false, nil (so it is logged once)", again, err)
		}
		fp, err := db.FailedPosts(ctx)
		must(t, err)
		if len(fp) != 1 || fp[0].PostID != id || fp[0].Reason != "templates: post: boom" || fp[0].At.IsZero() {
			t.Fatalf("failed posts: %+v", fp)
		}
		c, err := db.Counts(ctx)
		must(t, err)
		if d := cmp.Diff(map[string]int64{store.PostFailed: 1}, c.Posts); d != "" {
			t.Fatalf("posts (-want +got):\n%s", d)
		}
		if d := cmp.Diff(map[string]int64{store.DeliverySent: 1, store.DeliveryFailed: 2}, c.Deliveries); d != "" {
			t.Fatalf("deliveries (-want +got):\n%s", d)
		}
		open, err := db.OpenBatches(ctx)
		must(t, err)
		if len(open) != 0 {
			t.Fatalf("open batches after the post failed: %+v", open)
		}
		ds, err := db.Deliveries(ctx, store.KindPost, id)
		must(t, err)
		for _, d := range ds[1:] {
			if d.LastReply != "not sent: the post could not be rendered: templates: post: boom" {
				t.Errorf("delivery %d: reply %q", d.ID, d.LastReply)
			}
		}
	})
}

// Issue 7 item 11: status never said which deliveries failed or why.
// Failures names each with its recipient, its post, when and the reply.
func TestFailuresNameTheRecipientThePostTheTimeAndTheReply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		before := time.Now().Add(-time.Second)
		id, rows := fannedOut(t, db, 3)
		_, err := db.Record(ctx, "w", store.Outcome{ID: rows[0].ID, State: store.DeliverySent, Reply: "250 ok"})
		must(t, err)
		_, err = db.Record(ctx, "w", store.Outcome{ID: rows[1].ID, State: store.DeliveryFailed,
			Reply: "smtp rcpt: 550 5.1.1 mailbox unavailable", Bounce: true})
		must(t, err)
		fs, err := db.Failures(ctx, 10)
		must(t, err)
		if len(fs) != 1 {
			t.Fatalf("failures: %+v, want one", fs)
		}
		f := fs[0]
		if f.Recipient != rows[1].Recipient || f.Title != "Post c" || f.SourceID != id || f.Kind != store.KindPost ||
			f.Reply != "smtp rcpt: 550 5.1.1 mailbox unavailable" || f.At.Before(before) || f.Attempts != 1 {
			t.Fatalf("failure: %+v", f)
		}
	})
}
