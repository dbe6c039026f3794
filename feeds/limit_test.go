package feeds

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestParseHugeItemIsCutAtABlockWithALinkToTheRest parses a post several
// times MaxContentBytes long, in every format a feed can carry it in: the
// content ends after a whole block, every element it opens is closed, and a
// link leads to the rest; the post after it is whole.
func TestParseHugeItemIsCutAtABlockWithALinkToTheRest(t *testing.T) {
	t.Parallel()
	const link = `<p><a href="https://blog.example/huge" rel="noopener">` + continueLabel + `</a></p>`
	for _, format := range []string{"rss cdata", "rss escaped", "atom", "json", "json text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			feed, err := Parse(hugeFeed(format, maxTextBytes+maxTextBytes/4), "https://blog.example/feed")
			if err != nil {
				t.Fatal(err)
			}
			if len(feed.Items) != 2 {
				t.Fatalf("got %d items, want 2", len(feed.Items))
			}
			huge, small := feed.Items[0].Content, feed.Items[1].Content
			if small != "<p>A short post.</p>" {
				t.Errorf("the next post's content = %q, want it whole", small)
			}
			if len(huge) > MaxContentBytes+len(link) {
				t.Errorf("content is %d bytes, want at most %d and the link", len(huge), MaxContentBytes)
			}
			body, ok := strings.CutSuffix(huge, link)
			if !ok {
				t.Fatalf("content does not end with the link to the rest:\n…%s", huge[max(0, len(huge)-300):])
			}
			if end := strings.TrimSpace(body); !strings.HasSuffix(end, "ends here.</p>") && !strings.HasSuffix(end, "</div>") {
				t.Errorf("content does not end after a whole block:\n…%s", end[max(0, len(end)-300):])
			}
			for _, tag := range []string{"p", "div", "a", "strong", "em"} {
				if open, closed := strings.Count(body, "<"+tag+">")+strings.Count(body, "<"+tag+" "), strings.Count(body, "</"+tag+">"); open != closed {
					t.Errorf("<%s> opened %d times, closed %d times", tag, open, closed)
				}
			}
			for _, s := range []string{feed.Items[0].Content, feed.Items[0].Summary} {
				if strings.Contains(s, "\uE000") || strings.Contains(s, "practicemail:cut") {
					t.Errorf("the cut mark shows: …%s", s[max(0, len(s)-200):])
				}
			}
		})
	}
}

// TestParseHugeItemAllocatesLittle parses a feed of one 9.4 MB post, the
// size that took a worker to 493 MB: before the caps, Parse allocated
// 606 MB for it (gofeed copies each text several times and parses an
// item's HTML whole, then the sanitiser parsed it again).
func TestParseHugeItemAllocatesLittle(t *testing.T) {
	body := hugeFeed("rss cdata", 9_400_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	feed, err := Parse(body, "https://blog.example/feed")
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("Parse allocated %d MB in all for a %.1f MB feed; content %d KiB", allocated>>20, float64(len(body))/1e6, len(feed.Items[0].Content)>>10)
	// All that Parse allocates bounds the most it holds at once.
	if limit := uint64(128 << 20); allocated > limit {
		t.Errorf("Parse allocated %d MB, want under %d MB", allocated>>20, limit>>20)
	}
}

// TestParseItemUnderTheCapIsWhole: a post just under MaxContentBytes is
// neither cut nor given a link.
func TestParseItemUnderTheCapIsWhole(t *testing.T) {
	post := hugePost(MaxContentBytes - 4096)
	feed, err := Parse([]byte(rssWith(`<content:encoded><![CDATA[`+post+`]]></content:encoded>`, "")), "https://blog.example/feed")
	if err != nil {
		t.Fatal(err)
	}
	if c := feed.Items[0].Content; strings.Contains(c, continueLabel) || !strings.HasSuffix(c, "</div>") {
		t.Errorf("content was cut:\n…%s", c[max(0, len(c)-300):])
	}
}

func TestLastBoundary(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"after a block", `<p>one</p><p>two is cut sh`, `<p>one</p>`},
		{"before a block", `<p>one</p> <h2>Two</h2><p>thr`, `<p>one</p> <h2>Two</h2>`},
		{"not inside a tag", `<p>one</p><p>two</p><img src="https://ex`, `<p>one</p><p>two</p>`},
		{"an opened wrapper is not left empty", `<p>one</p><div class="x"> <p>two`, `<p>one</p>`},
		{"one long paragraph: at a space", `<p>one two thr`, `<p>one two`},
		{"no space: before the last token", `<p><b>onetwothr`, `<p><b>`},
		{"an unfinished end tag is no boundary", `<p>one</p><p>two</p`, `<p>one</p>`},
	}
	for _, tt := range tests {
		if got := tt.in[:lastBoundary(tt.in)]; got != tt.want {
			t.Errorf("%s: lastBoundary(%q) cuts to %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestShortenDocument(t *testing.T) {
	long := strings.Repeat("x", 20)
	tests := []struct{ name, in, want string }{
		{"text", `<a>` + long + `</a>`, `<a>xxxxxxxxxx` + cutMark + `</a>`},
		{"text with an entity at the cut", `<a>xxxxxxx&amp;` + long + `</a>`, `<a>xxxxxxx` + cutMark + `</a>`},
		{"text with a whole entity", `<a>xxxxx&amp;` + long + `</a>`, `<a>xxxxx&amp;` + cutMark + `</a>`},
		{"utf-8", `<a>xxxxxxxxxé` + long + `</a>`, `<a>xxxxxxxxx` + cutMark + `</a>`},
		{"cdata", `<a><![CDATA[<p>` + long + `]]></a>`, `<a><![CDATA[<p>xxxxxxx` + cutMark + `]]></a>`},
		{"attribute values are not text", `<a t="` + long + `>` + long + `"/>`, `<a t="` + long + `>` + long + `"/>`},
		{"comments are not text", `<!--` + long + `--><a/>`, `<!--` + long + `--><a/>`},
		{"json", `{"a":"` + long + `"}`, `{"a":"xxxxxxxxxx` + cutMark + `"}`},
		{"json escape not split", `{"a":"xxxxxxxx\"` + long + `"}`, `{"a":"xxxxxxxx\"` + cutMark + `"}`},
		{"json unicode escape not split", `{"a":"xxxxxxxx\u00e9` + long + `"}`, `{"a":"xxxxxxxx\u00e9` + cutMark + `"}`},
		{"json escaped quote ends nothing", `{"a":"\"` + long + `","b":"c"}`, `{"a":"\"xxxxxxxx` + cutMark + `","b":"c"}`},
	}
	for _, tt := range tests {
		if got := string(shortenDocument([]byte(tt.in), 10)); got != tt.want {
			t.Errorf("%s: shortenDocument(%q) =\n%q, want\n%q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestShortenDocumentKeepsFixturesParseable cuts every text of every
// fixture to a few bytes: what parsed before still parses, with the same
// items.
func TestShortenDocumentKeepsFixturesParseable(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range fixtures {
		if info, err := os.Stat(name); err != nil || info.IsDir() {
			continue
		}
		doc := trimPreamble(toUTF8(readFixture(t, filepath.Base(name)), ""))
		whole, err := Parse(doc, "https://blog.example.com/feed/")
		if err != nil {
			continue
		}
		cut, err := Parse(shortenDocument(doc, 64), "https://blog.example.com/feed/")
		if err != nil {
			t.Errorf("%s: cut to 64-byte texts, it no longer parses: %v", name, err)
			continue
		}
		if len(cut.Items) != len(whole.Items) {
			t.Errorf("%s: %d items when cut, %d whole", name, len(cut.Items), len(whole.Items))
		}
	}
}

// BenchmarkParseHugeItem parses a feed of one 9.4 MB post; B/op is what
// TestParseHugeItemAllocatesLittle bounds.
func BenchmarkParseHugeItem(b *testing.B) {
	body := hugeFeed("rss cdata", 9_400_000)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body, "https://blog.example/feed"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFetchCutsHugeTextsBeforeParse: Fetch already cuts a huge post's
// text, so the whole body is garbage before Parse starts, and Parse, which
// cuts again, still ends the post with the link to the rest.
func TestFetchCutsHugeTextsBeforeParse(t *testing.T) {
	body := hugeFeed("rss cdata", 3*maxTextBytes)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	res, err := NewFetcher(FetcherOptions{}).Fetch(context.Background(), srv.URL+"/feed", Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Body) > maxTextBytes+4096 {
		t.Errorf("Fetch returned %d bytes of a %d-byte feed, want its huge text cut to %d", len(res.Body), len(body), maxTextBytes)
	}
	feed, err := Parse(res.Body, res.URL)
	if err != nil {
		t.Fatal(err)
	}
	if c := feed.Items[0].Content; !strings.HasSuffix(c, continueLabel+"</a></p>") || strings.Contains(c, "practicemail:cut") {
		t.Errorf("content does not end with the link alone: …%s", c[max(0, len(c)-200):])
	}
}
