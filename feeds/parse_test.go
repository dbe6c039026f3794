package feeds

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hashed fills in each item's Hash, and its Key when the key is a hash.
func hashed(items ...Item) []Item {
	for i := range items {
		items[i].Hash = contentHash(items[i].Title, items[i].Content)
		if items[i].Key == "hash:" {
			items[i].Key += items[i].Hash
		}
	}
	return items
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		fixture, baseURL string
		want             *Feed
	}{
		{"wordpress.xml", "https://stillpoint.example/feed/", &Feed{
			Title: "Stillpoint Counseling – Blog", Link: "https://stillpoint.example", Language: "en-US",
			Items: hashed(Item{
				Key:    "guid:https://stillpoint.example/?p=123",
				GUID:   "https://stillpoint.example/?p=123",
				URL:    "https://stillpoint.example/2025/01/finding-calm-in-winter/",
				Title:  "Finding Calm in Winter – A Gentle Practice",
				Author: "Dr. Jane Rivera",
				Content: "<p>When the days grow short, the body asks for <em>rest</em>.</p>\n" +
					`<figure><img width="1024" height="683" src="https://stillpoint.example/wp-content/uploads/2025/01/snow.jpg" alt="Snow on pines"/>` +
					"<figcaption>Snow on the Flatirons</figcaption></figure>\n<h2>The practice</h2>\n" +
					"<ol><li>Sit comfortably.</li><li>Notice your feet.</li></ol>\n" +
					`<p>Read more <a href="https://stillpoint.example/about/" rel="noopener">about us</a>.</p>` + "\n" +
					`<p>If this brings up more than you can hold right now, call or text <a href="tel:988" rel="noopener">988</a>, ` +
					`or write to <a href="mailto:hello@stillpoint.example?subject=Hello" rel="noopener">hello@stillpoint.example</a>.</p>`,
				// Yoast's "The post … appeared first on …" line is gone from both.
				Summary:   "When the days grow short, the body asks for rest. Here is a five-minute practice… Continue reading",
				ImageURL:  "https://stillpoint.example/wp-content/uploads/2025/01/snow.jpg",
				Published: date("2025-01-07T16:00:00Z"),
			}, Item{
				Key:    "guid:https://stillpoint.example/?p=101",
				GUID:   "https://stillpoint.example/?p=101",
				URL:    "https://stillpoint.example/2024/12/what-is-kat/",
				Title:  "What Is Ketamine-Assisted Therapy?",
				Author: "Dr. Jane Rivera",
				// The featured image, given only as an enclosure, leads the email.
				Content:   `<p><img src="https://stillpoint.example/wp-content/uploads/2024/12/kat.jpg" alt=""></p><p>A plain introduction.</p>`,
				Summary:   "A plain introduction.",
				ImageURL:  "https://stillpoint.example/wp-content/uploads/2024/12/kat.jpg",
				Published: date("2024-12-02T15:30:00Z"),
			}),
		}},
		{"atom.xml", "https://notes.example.org/blog/atom.xml", &Feed{
			Title: "Quiet Notes", Link: "https://notes.example.org/", Language: "en",
			ImageURL: "https://notes.example.org/logo.png",
			Items: hashed(Item{
				Key:    "guid:tag:notes.example.org,2025:breathing",
				GUID:   "tag:notes.example.org,2025:breathing",
				URL:    "https://notes.example.org/blog/2025/02/breathing/",
				Title:  "Breathing slowly & why it helps",
				Author: "Sam Okafor", // the feed's author: RFC 4287 §4.2.1
				Content: `<p>See <a href="https://notes.example.org/links/" rel="noopener">these links</a> and this chart:</p>` +
					`<p><img src="https://notes.example.org/blog/img/chart.png" alt="chart"/></p>`,
				Summary:   "Slow breathing calms the nervous system.",
				ImageURL:  "https://notes.example.org/blog/img/chart.png",
				Published: date("2025-02-03T16:00:00Z"),
			}, Item{
				Key:    "guid:tag:notes.example.org,2024:xhtml",
				GUID:   "tag:notes.example.org,2024:xhtml",
				URL:    "https://notes.example.org/archive/old-post.html",
				Title:  "An xhtml entry",
				Author: "Guest Writer",
				Content: `<p>Hello <strong>world</strong>, see <a href="https://notes.example.org/archive/pic.html" rel="noopener">the picture</a>.</p>` +
					`<img src="https://notes.example.org/archive/pic.jpg" alt="A picture"/>`,
				Summary:   "Hello world, see the picture.",
				ImageURL:  "https://notes.example.org/archive/pic.jpg",
				Published: date("2024-11-20T08:30:00Z"),
			}, Item{
				Key:       "guid:tag:notes.example.org,2024:plain",
				GUID:      "tag:notes.example.org,2024:plain",
				URL:       "https://notes.example.org/blog/2024/10/plain/",
				Title:     "Plain text entry",
				Author:    "Sam Okafor",
				Content:   "<p>Less is more: 2 &lt; 3.</p><p>Second paragraph.</p>",
				Summary:   "Less is more: 2 < 3. Second paragraph.",
				Published: date("2024-10-01T12:00:00Z"),
			}),
		}},
		{"jsonfeed.json", "https://micro.example.net/feed.json", &Feed{
			Title: "Micro Notes", Link: "https://micro.example.net/", Language: "en",
			ImageURL: "https://micro.example.net/icon.png",
			Items: hashed(Item{
				Key:       "guid:https://micro.example.net/2025/03/01/on-rest.html",
				GUID:      "https://micro.example.net/2025/03/01/on-rest.html",
				URL:       "https://micro.example.net/2025/03/01/on-rest.html",
				Title:     "On rest",
				Author:    "Ana Li",
				Content:   `<p>Rest is <b>work</b> too. <img src="https://micro.example.net/uploads/rest.jpg" alt="a hammock" width="600" height="400"/></p>`,
				Summary:   "Rest is work too.",
				ImageURL:  "https://micro.example.net/uploads/rest-cover.jpg",
				Published: date("2025-03-01T13:00:00Z"),
			}, Item{
				Key:       "guid:12345",
				GUID:      "12345",
				URL:       "https://micro.example.net/2025/02/27/note.html",
				Author:    "Ana Li", // the feed's author, as JSON Feed specifies
				Content:   "<p>A short note without a title.<br/>Second line &lt;not a tag&gt;.</p><p>New paragraph &amp; more.</p>",
				Summary:   "A short note without a title. Second line <not a tag>. New paragraph & more.",
				Published: date("2025-02-27T21:15:00Z"),
			}),
		}},
		{"latin1.xml", "https://cafe.example.fr/feed", &Feed{
			Title: "Café Thérapie", Link: "https://cafe.example.fr/", Language: "fr",
			Items: hashed(Item{
				Key:       "guid:https://cafe.example.fr/ete",
				GUID:      "https://cafe.example.fr/ete",
				URL:       "https://cafe.example.fr/ete",
				Title:     "Ça va ? L'été naïf »",
				Content:   "<p>Résumé de l&#39;été — rêver.</p>",
				Summary:   "Résumé de l'été — rêver.",
				Published: date("2025-03-01T09:00:00Z"),
			}),
		}},
		{"windows1252.xml", "https://quotes.example.com/feed", &Feed{
			Title: "“Quoted” Blog", Link: "https://quotes.example.com/",
			Items: hashed(Item{
				Key: "url:https://quotes.example.com/p/1", URL: "https://quotes.example.com/p/1",
				Title: "It’s €5 – cheap", Content: "ok", Summary: "ok",
			}),
		}},
		{"bom.xml", "https://bom.example.com/feed", &Feed{
			Title: "BOM Blog", Link: "https://bom.example.com/",
			Items: hashed(Item{
				Key: "guid:bom-1", GUID: "bom-1", URL: "https://bom.example.com/after",
				Title: "After the BOM", Content: "Fine.", Summary: "Fine.",
			}),
		}},
		{"relative.xml", "https://hugo.example.net/index.xml", &Feed{
			Title: "Hugo Site", Link: "https://hugo.example.net/",
			Items: hashed(Item{
				Key: "guid:/posts/relative/", GUID: "/posts/relative/",
				URL:   "https://hugo.example.net/posts/relative/",
				Title: "Relative everything",
				Content: `<p><img src="https://hugo.example.net/posts/relative/img/photo.png" alt="photo"/> ` +
					`<img src="https://cdn.example.net/a.png" alt="cdn"/> ` +
					`<a href="https://hugo.example.net/tags/calm/" rel="noopener">calm</a> ` +
					`<a href="https://hugo.example.net/posts/relative/#fn1" rel="noopener">1</a> ` +
					`<a href="mailto:hello@hugo.example.net" rel="noopener">write</a></p>`,
				Summary:   "calm 1 write",
				ImageURL:  "https://hugo.example.net/posts/relative/img/photo.png",
				Published: date("2025-01-10T16:00:00Z"),
			}),
		}},
		{"empty.xml", "https://new.example.com/feed", &Feed{
			Title: "Brand new blog", Link: "https://new.example.com/",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := Parse(readFixture(t, tt.fixture), tt.baseURL)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseIdentity covers items without GUIDs: link identity, hash
// identity when there is neither, permalink GUIDs, and a repeated link.
func TestParseIdentity(t *testing.T) {
	got, err := Parse(readFixture(t, "identity.xml"), "https://ids.example.com/feed")
	if err != nil {
		t.Fatal(err)
	}
	type ident struct{ Key, GUID, URL, Title string }
	var gotIDs []ident
	for _, it := range got.Items {
		gotIDs = append(gotIDs, ident{it.Key, it.GUID, it.URL, it.Title})
	}
	want := []ident{
		{"url:https://ids.example.com/posts/link-only", "", "https://ids.example.com/posts/link-only", "Link only"},
		{"hash:" + contentHash("Nothing but words", "Neither guid nor link."), "", "", "Nothing but words"},
		{"guid:post-42", "post-42", "", "Guid only"},
		{"guid:https://ids.example.com/posts/permalink", "https://ids.example.com/posts/permalink",
			"https://ids.example.com/posts/permalink", "Permalink guid"},
	}
	if diff := cmp.Diff(want, gotIDs); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		wantErr error
		wantMsg string
	}{
		{"html page", readFixture(t, "homepage.html"), ErrNotFeed,
			"not a feed: got an HTML page (maybe the blog's home page, not its feed URL); the page points to a feed at https://stillpoint.example/feed/"},
		{"html page without feed link", []byte("<!doctype html><html><body>hi</body></html>"), ErrNotFeed,
			"not a feed: got an HTML page (maybe the blog's home page, not its feed URL)"},
		{"xhtml page", []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>`), ErrNotFeed,
			"not a feed: got an HTML page (maybe the blog's home page, not its feed URL)"},
		{"truncated", readFixture(t, "truncated.xml"), ErrMalformed,
			"broken feed: the XML is cut short or garbled (line 21: unexpected EOF)"},
		{"truncated json", []byte(`{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1"`), ErrMalformed,
			"broken feed: the JSON is cut short or garbled"},
		{"plain text", []byte("Service temporarily unavailable"), ErrNotFeed,
			"not a feed: the document is not RSS, Atom or JSON Feed"},
		{"empty", []byte("\xEF\xBB\xBF \n "), ErrNotFeed, "not a feed: the document is empty"},
		{"other json", []byte(`{"posts":[{"title":"x"}]}`), ErrNotFeed, "not a feed: got JSON that is not a JSON Feed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feed, err := Parse(tt.body, "https://stillpoint.example/")
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", feed)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want prefix %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
}

// TestParsePreamble covers junk servers print before the feed: PHP warnings
// from a WordPress plugin, whitespace, a BOM.
func TestParsePreamble(t *testing.T) {
	feed := string(readFixture(t, "empty.xml"))
	for name, body := range map[string]string{
		"php warning": "<br />\n<b>Warning</b>:  Undefined variable $x in <b>/var/www/wp-content/plugins/p.php</b>\n" + feed,
		"notice text": "Notice: session_start(): headers already sent\n" + feed,
		"blank lines": "\n\n\t \r\n" + feed,
		"bom":         "\xEF\xBB\xBF" + feed,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Parse([]byte(body), "https://new.example.com/feed")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Title != "Brand new blog" {
				t.Errorf("Title = %q", got.Title)
			}
		})
	}
}

// TestParseNoBase checks that relative links with nothing to resolve them
// against are dropped rather than kept relative.
func TestParseNoBase(t *testing.T) {
	body := `<rss version="2.0"><channel><title>x</title><item><title>t</title><link>/p/1</link>` +
		`<description>&lt;a href="/x"&gt;x&lt;/a&gt; &lt;img src="i.png"&gt;</description></item></channel></rss>`
	got, err := Parse([]byte(body), "")
	if err != nil {
		t.Fatal(err)
	}
	it := got.Items[0]
	if it.URL != "" || it.Content != "x" {
		t.Errorf("URL = %q, Content = %q; want no relative URLs", it.URL, it.Content)
	}
	if !strings.HasPrefix(it.Key, "hash:") {
		t.Errorf("Key = %q, want a hash key", it.Key)
	}
}

// TestParsePlatforms: feeds shaped as Substack, Blogger, Medium and Ghost
// write them (namespaces, CDATA, stylesheets, enclosures, media:content,
// tracking pixels, embeds) come out as plain titles, absolute images and
// clean HTML.
func TestParsePlatforms(t *testing.T) {
	tests := []struct {
		file, base                string
		key, title, author, image string
		has                       []string // in the content
	}{
		{"substack.xml", "https://feelingagain.substack.com/feed",
			"guid:https://feelingagain.substack.com/p/when-numb-feels-safer", "When Numb Feels Safer Than Sad", "A. Therapist",
			"https://substack-post-media.s3.amazonaws.com/public/images/abc.jpeg",
			[]string{`<img src="https://substackcdn.com/image/fetch/w_1456/abc.jpeg"`, "<p>Numbness can feel like safety.</p>"}},
		{"blogger.xml", "https://somaticnotes.blogspot.com/feeds/posts/default",
			"guid:tag:blogger.com,1999:blog-123.post-456", "Learning to feel again & why it's hard", "Dr. K",
			"https://blogger.googleusercontent.com/img/b/R29v/s320/x.jpg",
			[]string{"<p>Body first.</p>"}},
		{"medium.xml", "https://medium.com/@atherapist/feed",
			"guid:https://medium.com/p/1a2b3c", "The Window of Tolerance", "A. Therapist",
			"https://cdn-images-1.medium.com/max/1024/1*x.jpeg",
			[]string{"<p>Between too much and too little.</p>"}},
		{"ghost.xml", "https://stillpoint.ghost.io/rss/",
			"guid:6743a1b2c3d4e5f6a7b8c9d0", "Grief isn’t a problem to solve", "Sam",
			"https://stillpoint.ghost.io/content/images/2026/11/grief.jpg",
			[]string{`<img src="https://stillpoint.ghost.io/content/images/2026/11/grief.jpg"`,
				`<a href="https://www.youtube.com/watch?v=xyz" rel="noopener">Watch the video on YouTube</a>`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Parse(readFixture(t, tt.file), tt.base)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Items) != 1 {
				t.Fatalf("%d items, want 1", len(f.Items))
			}
			it := f.Items[0]
			if it.Key != tt.key || it.Title != tt.title || it.Author != tt.author || it.ImageURL != tt.image || it.Published.IsZero() {
				t.Errorf("item: key %q title %q author %q image %q published %v", it.Key, it.Title, it.Author, it.ImageURL, it.Published)
			}
			for _, s := range tt.has {
				if !strings.Contains(it.Content, s) {
					t.Errorf("content lacks %s:\n%s", s, it.Content)
				}
			}
			for _, bad := range []string{"<script", "<iframe", "/_/stat?", "class=", "loading="} {
				if strings.Contains(it.Content, bad) {
					t.Errorf("content keeps %s:\n%s", bad, it.Content)
				}
			}
		})
	}
}
