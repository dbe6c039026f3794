package feeds

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseHostile runs the script/iframe/onerror/tracking-pixel fixture
// end to end and checks what survives.
func TestParseHostile(t *testing.T) {
	feed, err := Parse(readFixture(t, "hostile.xml"), "https://hostile.example.com/feed")
	if err != nil {
		t.Fatal(err)
	}
	if len(feed.Items) != 1 {
		t.Fatalf("got %d items, want 1", len(feed.Items))
	}
	it := feed.Items[0]
	if it.Title != "Everything bad" {
		t.Errorf("Title = %q, want the script text gone", it.Title)
	}
	for _, banned := range []string{
		"<script", "alert", "evil", "<style", "display:none", "<iframe", "<object", "<embed", "<form",
		"<input", "<button", "onerror", "onclick", "onmouseover", "onload", "javascript:", "style=",
		"feedburner", "pixel.wp.com", "stats.example.com", "hidden.gif", "data:image", "<svg", "svg text",
		"<noscript", "target=", "nofollow", "steal",
	} {
		if strings.Contains(it.Content, banned) {
			t.Errorf("content still contains %q:\n%s", banned, it.Content)
		}
	}
	for _, kept := range []string{
		`<a href="https://ok.example.com/page" rel="noopener">a real link</a>`,
		`<a href="https://www.youtube.com/embed/abc123" rel="noopener">View embedded content from www.youtube.com</a>`,
		`<img src="https://hostile.example.com/p/x.png" alt="broken image"/>`,
		"Hello click and",
	} {
		if !strings.Contains(it.Content, kept) {
			t.Errorf("content lacks %q:\n%s", kept, it.Content)
		}
	}
	if n := strings.Count(it.Content, "uploads/lazy.jpg"); n != 1 {
		t.Errorf("lazy image appears %d times, want once (placeholder replaced, <noscript> copy dropped):\n%s", n, it.Content)
	}
}

func TestSanitizeHTML(t *testing.T) {
	base, _ := url.Parse("https://blog.example.com/2025/01/post/")
	tests := []struct{ name, in, want string }{
		{"relative img and link", `<p><img src="a.png" alt="A" width="10" height="20"><a href="/x">x</a></p>`,
			`<p><img src="https://blog.example.com/2025/01/post/a.png" alt="A" width="10" height="20"/><a href="https://blog.example.com/x" rel="noopener">x</a></p>`},
		{"headings lists quotes code tables", `<h3>H</h3><ul><li>i</li></ul><blockquote cite="/src">q</blockquote><pre><code>a &lt; b</code></pre><table><tr><td>c</td></tr></table>`,
			`<h3>H</h3><ul><li>i</li></ul><blockquote cite="https://blog.example.com/src">q</blockquote><pre><code>a &lt; b</code></pre><table><tbody><tr><td>c</td></tr></tbody></table>`},
		{"existing rel replaced", `<a href="https://x.example/" rel="nofollow ugc" target="_blank">x</a>`,
			`<a href="https://x.example/" rel="noopener">x</a>`},
		{"javascript link loses href", `<a href="JaVaScRiPt:alert(1)">x</a>`, `x`},
		{"data uri image dropped", `<img src="data:image/png;base64,AAAA">`, ``},
		{"zero-size pixel", `<img src="https://img.example/p.gif" width="0" height="0">`, ``},
		{"1px style pixel", `<img src="https://img.example/p.gif" style="width:1px;height:1px">`, ``},
		{"height 1px attr", `<img src="https://img.example/p.gif" height="1px">`, ``},
		{"medium stat pixel", `<img src="https://medium.com/_/stat?event=post.clientViewed&referrerSource=full_rss&postId=1" width="1" height="1" alt="">`, ``},
		{"substack open pixel", `<img src="https://eotrx.substackcdn.com/open?token=abc" alt="">`, ``},
		{"ga pixel", `<img src="https://www.google-analytics.com/collect?v=1">`, ``},
		{"blogger tracker", `<div class="blogger-post-footer"><img width="1" height="1" src="https://blogger.googleusercontent.com/tracker/1-2?l=x.blogspot.com" alt=""/></div>`, `<div></div>`},
		{"large image kept", `<img src="https://medium.com/max/1024/1*abc.jpeg">`, `<img src="https://medium.com/max/1024/1*abc.jpeg"/>`},
		{"lazy data-src", `<img src="/spinner.gif" data-src="/real.jpg">`, `<img src="https://blog.example.com/real.jpg"/>`},
		{"lazy over placeholder", `<img data-src="/real.jpg">`, `<img src="https://blog.example.com/real.jpg"/>`},
		{"noscript-only image kept", `<img src="/placeholder.svg" class="lazy"><noscript><img src="/only-here.jpg" alt="x"></noscript>`,
			`<img src="https://blog.example.com/placeholder.svg"/><img src="https://blog.example.com/only-here.jpg" alt="x"/>`},
		{"noscript duplicate dropped", `<img data-src="/a.jpg"><noscript><img src="/a.jpg"></noscript>`,
			`<img src="https://blog.example.com/a.jpg"/>`},
		{"iframe without src", `<iframe></iframe>`, ``},
		{"event handlers", `<p onclick="x()" onMouseOver="y()">t</p>`, `<p>t</p>`},
		{"comments", `a<!-- secret -->b`, `ab`},
		{"figure", `<figure><img src="/f.jpg" alt="f"><figcaption>cap</figcaption></figure>`,
			`<figure><img src="https://blog.example.com/f.jpg" alt="f"/><figcaption>cap</figcaption></figure>`},
		{"emphasis", `<em>e</em><strong>s</strong>`, `<em>e</em><strong>s</strong>`},
		{"empty", "  ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := sanitizeHTML(tt.in, base)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sanitizeHTML(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
