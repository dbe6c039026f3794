package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// TestPostByLink finds a post by its link or its GUID, the newest of
// several, and says ErrNotFound for anything else.
func TestPostByLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		feed := addFeed(t, db)
		a, b := post("a"), post("b")
		a.URL, a.GUID = "https://blog.example/a/", "tag:blog.example,2026:a"
		b.URL, b.GUID = "https://blog.example/b/", "https://blog.example/?p=2"
		again := post("a-again") // the same link under another key: the newer one wins
		again.URL, again.Title = a.URL, "Post a, edited"
		_, err := db.SavePoll(ctx, feed, store.PollOutcome{New: []store.Post{a, b}, Next: time.Now()})
		must(t, err)
		_, err = db.SavePoll(ctx, feed, store.PollOutcome{New: []store.Post{again}, Next: time.Now()})
		must(t, err)
		for ref, title := range map[string]string{
			"https://blog.example/b/":   "Post b",
			" https://blog.example/b/ ": "Post b",
			"https://blog.example/?p=2": "Post b",
			"tag:blog.example,2026:a":   "Post a",
			"https://blog.example/a/":   "Post a, edited",
		} {
			p, err := db.PostByLink(ctx, ref)
			if err != nil {
				t.Fatalf("PostByLink(%q): %v", ref, err)
			}
			if p.Title != title {
				t.Errorf("PostByLink(%q) = %q, want %q", ref, p.Title, title)
			}
		}
		for _, ref := range []string{"", "https://blog.example/c/", "https://blog.example/b"} {
			if _, err := db.PostByLink(ctx, ref); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("PostByLink(%q) err = %v, want ErrNotFound", ref, err)
			}
		}
	})
}
