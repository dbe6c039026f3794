package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// savePost stores one new post of the blog feed with the given link, and n
// confirmed subscribers of posts.
func savePost(t *testing.T, db *store.DB, link string, n int) int64 {
	t.Helper()
	ctx := context.Background()
	if err := db.SyncFeeds(ctx, []store.FeedSpec{{Name: "blog", URL: "https://blog.example/feed"}}); err != nil {
		t.Fatal(err)
	}
	f, err := db.FeedByName(ctx, "blog")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := db.SavePoll(ctx, f.ID, store.PollOutcome{Next: time.Now(), New: []store.Post{{
		Key: "guid:" + link, Title: "Hello", URL: link, Content: "<p>Hi</p>", Hash: "h"}}})
	if err != nil || len(ids) != 1 {
		t.Fatalf("save poll: %v %v", ids, err)
	}
	for i := range n {
		if _, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: fmt.Sprintf("p%d@example.com", i), Confirmed: true}); err != nil {
			t.Fatal(err)
		}
	}
	return ids[0]
}

// Issue 7 item 4: a post with no usable link (none, javascript:, not
// http(s)) was stuck for ever. It is sent, without the "Read on the blog"
// button.
func TestAPostWithoutAUsableLinkIsSentWithoutTheBlogButton(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	w := testWorker(t, db, nil, "a", &sendLog{}, func(string) time.Duration { return 0 })
	for _, link := range []string{"", "javascript:alert(1)", "ftp://blog.example/1", "/relative/path"} {
		id := savePost(t, db, link, 0)
		msg, _, err := w.prepare(context.Background(), store.BatchRef{Kind: store.KindPost, SourceID: id})
		if err != nil {
			t.Fatalf("link %q: %v", link, err)
		}
		b, err := msg.AppendTo(nil, mail.Recipient{Address: "p@example.com", MessageID: "m1", Values: []string{strings.Repeat("u", 40), strings.Repeat("p", 40)}})
		if err != nil {
			t.Fatalf("link %q: %v", link, err)
		}
		if strings.Contains(string(b), "Read on the blog") || strings.Contains(string(b), "ZgotmplZ") {
			t.Errorf("link %q: the email offers a link to the blog it has not got", link)
		}
		if !strings.Contains(string(b), "Hi") {
			t.Errorf("link %q: the email lacks the post", link)
		}
	}
}

// Issue 7 item 4: a post that cannot be rendered is failed with the reason
// and logged as an error once; nobody is queued for it, and deliveries
// queued before (by an older version) leave the queue failed.
func TestAPostThatCannotBeRenderedFailsOnceAndQueuesNobody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var logs bytes.Buffer
		w := testWorker(t, db, nil, "a", &sendLog{}, func(string) time.Duration { return 0 })
		w.Log = slog.New(slog.NewTextHandler(&logs, nil))
		w.Practice.PostalAddress = "" // a marketing email without one cannot be rendered
		id := savePost(t, db, "https://blog.example/1", 3)
		if err := w.handlePostFanout(ctx, newPostFanoutTask("", id, "")); err != nil {
			t.Fatalf("fan-out: %v", err)
		}
		post, err := db.Post(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if post.State != store.PostFailed {
			t.Fatalf("post is %s, want failed", post.State)
		}
		if rows, err := db.Deliveries(ctx, store.KindPost, id); err != nil || len(rows) != 0 {
			t.Fatalf("deliveries of a failed post: %v %v", rows, err)
		}
		// Rows written before the post failed (fanned out by a version that
		// rendered it) leave the queue when their batch comes round.
		page, err := db.FanOut(ctx, store.KindPost, id, store.TopicPosts, 100)
		if err != nil {
			t.Fatal(err)
		}
		err = w.handleDeliver(ctx, NewDeliverTask("", page.Batch, ""))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Fatalf("deliver for a failed post: %v, want SkipRetry", err)
		}
		rows, err := db.Deliveries(ctx, store.KindPost, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rows {
			if d.State != store.DeliveryFailed || !strings.Contains(d.LastReply, "postal address") {
				t.Errorf("delivery to %s: %s %q, want failed with the reason", d.Recipient, d.State, d.LastReply)
			}
		}
		if n := strings.Count(logs.String(), "level=ERROR msg=post_failed"); n != 1 {
			t.Fatalf("post_failed logged %d times as an error, want once:\n%s", n, logs.String())
		}
	})
}
