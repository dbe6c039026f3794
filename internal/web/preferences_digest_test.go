package web

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/store"
)

// While a feed is sent as a digest, the preferences page offers "each
// post" or "weekly digest", shows the person's own choice, and saves a new
// one with their topics; a choice that is neither is refused, and a page
// without the choice (no digest feed) leaves the stored one alone.
func TestPreferencesDigestChoice(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		id := e.add("ann@example.com", store.StatusActive, "posts")
		path := "/preferences/" + e.links.Token(links.Preferences, id)
		same := []string{"Origin", e.url, "Sec-Fetch-Site", "same-origin"}
		if page := e.get(path); strings.Contains(page.body, `name="posts_as"`) {
			t.Fatalf("the choice is offered with no digest feed:\n%s", page.body)
		}
		if err := e.db.SyncFeeds(t.Context(), []store.FeedSpec{{Name: "blog", URL: "https://a.example/feed", Every: time.Minute, Digest: "Mon 09:00"}}); err != nil {
			t.Fatal(err)
		}
		page := e.get(path)
		if page.code != 200 || !strings.Contains(page.body, `value="each" checked`) || !strings.Contains(page.body, "(Mondays at 09:00)") {
			t.Fatalf("GET %s = %d, want each post chosen:\n%s", path, page.code, page.body)
		}
		if r := e.postForm(path, url.Values{"action": {"save"}, "topics": {"posts"}, "posts_as": {"digest"}}, same...); r.code != 200 {
			t.Fatalf("save = %d:\n%s", r.code, r.body)
		}
		if on, err := e.db.DigestChoice(t.Context(), id); err != nil || !on {
			t.Fatalf("after choosing the digest: %v %v", on, err)
		}
		if page := e.get(path); !strings.Contains(page.body, `value="digest" checked`) {
			t.Errorf("the page does not show the digest chosen:\n%s", page.body)
		}
		if r := e.postForm(path, url.Values{"action": {"save"}, "topics": {"posts"}, "posts_as": {"monthly"}}, same...); r.code != 400 {
			t.Errorf("an unknown choice = %d, want 400", r.code)
		}
		if r := e.postForm(path, url.Values{"action": {"save"}, "topics": {"posts", "news"}}, same...); r.code != 200 {
			t.Fatalf("save without the choice = %d", r.code)
		}
		if on, _ := e.db.DigestChoice(t.Context(), id); !on {
			t.Error("a form without the choice changed it")
		}
		if r := e.postForm(path, url.Values{"action": {"save"}, "topics": {"posts"}, "posts_as": {"each"}}, same...); r.code != 200 {
			t.Fatalf("save = %d", r.code)
		}
		if on, _ := e.db.DigestChoice(t.Context(), id); on {
			t.Error("choosing each post again did not stick")
		}
		// Two digest feeds at different times: the page names each.
		if err := e.db.SyncFeeds(t.Context(), []store.FeedSpec{
			{Name: "blog", URL: "https://a.example/feed", Every: time.Minute, Digest: "Mon 09:00"},
			{Name: "podcast", URL: "https://b.example/feed", Every: time.Minute, Digest: "Thu 17:30"}}); err != nil {
			t.Fatal(err)
		}
		if page := e.get(path); !strings.Contains(page.body, "(blog: Mondays at 09:00; podcast: Thursdays at 17:30)") {
			t.Errorf("with two digest times the page does not name each:\n%s", page.body)
		}
	})
}
