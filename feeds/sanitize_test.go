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
		`<a href="https://www.youtube.com/watch?v=abc123" rel="noopener">Watch the video on YouTube</a>`,
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

// TestSanitizeRealWorldQuirks covers the markup blogging platforms and
// their plugins put in feeds that would otherwise show in an email as
// blank images, giant emoji or silently missing videos.
func TestSanitizeRealWorldQuirks(t *testing.T) {
	base, _ := url.Parse("https://blog.example.com/2025/01/post/")
	const svgPlaceholder = `data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%20viewBox='0%200%20800%20600'%3E%3C/svg%3E`
	tests := []struct{ name, in, want string }{
		// Lazy-loaded images.
		{"svg placeholder and data-src", `<img src="` + svgPlaceholder + `" data-src="/uploads/real.jpg" alt="r">`,
			`<img src="https://blog.example.com/uploads/real.jpg" alt="r"/>`},
		{"data-lazy-src with lazy srcset", `<img src="` + svgPlaceholder + `" data-lazy-src="/a-1024.jpg" data-lazy-srcset="/a-300.jpg 300w, /a-1024.jpg 1024w">`,
			`<img src="https://blog.example.com/a-1024.jpg"/>`},
		{"native lazy loading keeps src", `<img src="/n.jpg" loading="lazy" decoding="async" alt="n">`,
			`<img src="https://blog.example.com/n.jpg" alt="n"/>`},
		{"srcset only picks the widest up to 1200w", `<img srcset="/s-300.jpg 300w, /s-1200.jpg 1200w, /s-2400.jpg 2400w" alt="s">`,
			`<img alt="s" src="https://blog.example.com/s-1200.jpg"/>`},
		{"srcset only, all wide, picks the narrowest", `<img srcset="/w-3000.jpg 3000w, /w-2000.jpg 2000w">`,
			`<img src="https://blog.example.com/w-2000.jpg"/>`},
		{"data-srcset over a placeholder", `<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-srcset="/d.jpg 800w">`,
			`<img src="https://blog.example.com/d.jpg"/>`},
		{"picture with only sources prefers JPEG to WebP", `<picture><source srcset="/p.webp" type="image/webp"><source srcset="/p.jpg 900w" type="image/jpeg"><img alt="p"></picture>`,
			`<img alt="p" src="https://blog.example.com/p.jpg"/>`},
		{"picture keeps the img's own source", `<picture><source srcset="/q.avif" type="image/avif"><img src="/q.jpg" alt="q"></picture>`,
			`<img src="https://blog.example.com/q.jpg" alt="q"/>`},
		{"picture without img", `<picture><source srcset="/only.webp 600w" type="image/webp"></picture>`,
			`<img src="https://blog.example.com/only.webp"/>`},
		{"noscript copy before the lazy image", `<noscript><img src="/z.jpg" alt="z"></noscript><img class="lazyload" data-src="/z.jpg" alt="z">`,
			`<img src="https://blog.example.com/z.jpg" alt="z"/>`},
		{"squarespace 7.0 data-image", `<img class="thumb-image" data-image="/sq.jpg" data-image-dimensions="1500x1000" data-load="false">`,
			`<img src="https://blog.example.com/sq.jpg"/>`},
		{"alt with punctuation survives", `<img src="/c.jpg" alt="Note: feelings pass?">`,
			`<img src="https://blog.example.com/c.jpg" alt="Note: feelings pass?"/>`},
		// Emoji images.
		{"wp-smiley", `<p>Thanks <img src="https://s.w.org/images/core/emoji/15.0.3/72x72/1f60a.png" alt="😊" class="wp-smiley" style="height: 1em; max-height: 1em;" /></p>`,
			`<p>Thanks 😊</p>`},
		{"emoji class", `<img draggable="false" role="img" class="emoji" alt="🌿" src="https://s.w.org/images/core/emoji/14.0.0/svg/1f33f.svg">`, `🌿`},
		{"twemoji without alt", `<img src="https://cdn.jsdelivr.net/gh/twitter/twemoji@14.0.2/assets/72x72/1f49a.png">`, ``},
		// Embeds become links.
		{"youtube embed", `<iframe width="560" height="315" src="https://www.youtube.com/embed/AbCdEf12345?si=x" title="YouTube video player" allowfullscreen></iframe>`,
			`<p><a href="https://www.youtube.com/watch?v=AbCdEf12345" rel="noopener">Watch the video on YouTube</a></p>`},
		{"youtube-nocookie with a title", `<iframe src="https://www.youtube-nocookie.com/embed/AbCdEf12345" title="Grounding in 5 minutes"></iframe>`,
			`<p><a href="https://www.youtube.com/watch?v=AbCdEf12345" rel="noopener">Watch “Grounding in 5 minutes” on YouTube</a></p>`},
		{"youtube playlist", `<iframe src="https://www.youtube.com/embed/videoseries?list=PL123abc"></iframe>`,
			`<p><a href="https://www.youtube.com/playlist?list=PL123abc" rel="noopener">Watch the video on YouTube</a></p>`},
		{"protocol-relative vimeo", `<iframe src="//player.vimeo.com/video/123456789?title=0&byline=0"></iframe>`,
			`<p><a href="https://vimeo.com/123456789" rel="noopener">Watch the video on Vimeo</a></p>`},
		{"lazy iframe with its noscript copy", `<iframe src="about:blank" data-lazy-src="https://www.youtube.com/embed/LzLzLzLzLz1"></iframe><noscript><iframe src="https://www.youtube.com/embed/LzLzLzLzLz1"></iframe></noscript>`,
			`<p><a href="https://www.youtube.com/watch?v=LzLzLzLzLz1" rel="noopener">Watch the video on YouTube</a></p>`},
		{"other embed", `<iframe src="https://www.google.com/maps/embed?pb=abc"></iframe>`,
			`<p><a href="https://www.google.com/maps/embed?pb=abc" rel="noopener">View embedded content from www.google.com</a></p>`},
		{"video file", `<figure><video controls src="/media/tour.mp4" poster="/media/tour.jpg"></video><figcaption>Tour</figcaption></figure>`,
			`<figure><p><a href="https://blog.example.com/media/tour.mp4" rel="noopener">Watch the video</a></p><figcaption>Tour</figcaption></figure>`},
		{"audio with source", `<audio controls><source src="/media/meditation.mp3" type="audio/mpeg">Your browser cannot play audio.</audio>`,
			`<p><a href="https://blog.example.com/media/meditation.mp3" rel="noopener">Listen to the audio</a></p>`},
		{"video without a file", `<video controls></video>`, ``},
		// Layout noise.
		{"blank runs squeezed", "<div>\n     \n   <p>a</p>\n\n\n   <p>b</p>    </div>", "<div>\n<p>a</p>\n<p>b</p> </div>"},
		{"pre keeps its whitespace", "<pre>  two\n\n   lines</pre>", "<pre>  two\n\n   lines</pre>"},
		{"xhtml prefix", `<xhtml:div xmlns:xhtml="http://www.w3.org/1999/xhtml"><xhtml:p>Hi <xhtml:a href="x/">there</xhtml:a></xhtml:p></xhtml:div>`,
			`<div><p>Hi <a href="https://blog.example.com/2025/01/post/x/" rel="noopener">there</a></p></div>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := sanitizeHTML(stripXHTMLPrefix(tt.in), base)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sanitizeHTML(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestBestCandidate(t *testing.T) {
	tests := []struct{ srcset, want string }{
		{"", ""},
		{"/a.jpg", "/a.jpg"},
		{"/a.jpg 1x, /a@2x.jpg 2x", "/a.jpg"},
		{"/a-300.jpg 300w,/a-768.jpg 768w, /a-1024.jpg 1024w", "/a-1024.jpg"},
		// Wix and Cloudinary URLs hold commas; only a comma after a space or a descriptor separates.
		{"https://static.wixstatic.com/media/x.jpg/v1/fill/w_300,h_200/x.jpg 300w, https://static.wixstatic.com/media/x.jpg/v1/fill/w_900,h_600/x.jpg 900w",
			"https://static.wixstatic.com/media/x.jpg/v1/fill/w_900,h_600/x.jpg"},
		{"data:image/gif;base64,AAAA 1w, /real.jpg 640w", "/real.jpg"},
		{"/trailing.jpg,", "/trailing.jpg"},
	}
	for _, tt := range tests {
		if got := bestCandidate(tt.srcset); got != tt.want {
			t.Errorf("bestCandidate(%q) = %q, want %q", tt.srcset, got, tt.want)
		}
	}
}

// TestSanitizeKeepsTelSmsAndMailtoLinks: a crisis note's "call or text
// 988" stays a link a phone can dial, and an address one it can write to.
func TestSanitizeKeepsTelSmsAndMailtoLinks(t *testing.T) {
	base, _ := url.Parse("https://blog.example.com/post/")
	tests := []struct{ in, want string }{
		{`<a href="tel:988">988</a>`, `<a href="tel:988" rel="noopener">988</a>`},
		{`<a href=" tel:+1-303-555-0100 ">call</a>`, `<a href="tel:+1-303-555-0100" rel="noopener">call</a>`},
		{`<a href="sms:988">text 988</a>`, `<a href="sms:988" rel="noopener">text 988</a>`},
		{`<a href="SMS:+15555550100?body=hello">text</a>`, `<a href="sms:+15555550100?body=hello" rel="noopener">text</a>`},
		{`<a href="mailto:hello@stillpoint.example?subject=Hi">write</a>`, `<a href="mailto:hello@stillpoint.example?subject=Hi" rel="noopener">write</a>`},
		{`<a href="tel:">nothing</a>`, `nothing`},
		{`<a href="tel:988 onclick=x">988</a>`, `988`},
		{`<img src="tel:988">`, ``},
	}
	for _, tt := range tests {
		if got, _ := sanitizeHTML(tt.in, base); got != tt.want {
			t.Errorf("sanitizeHTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSanitizeDropsAppearedFirstLine: the "The post … appeared first on …"
// line WordPress SEO plugins add goes, from the content and the summary;
// the same words elsewhere stay.
func TestSanitizeDropsAppearedFirstLine(t *testing.T) {
	const line = `<p>The post <a rel="nofollow" href="https://b.example/p/">Rest</a> appeared first on <a rel="nofollow" href="https://b.example">B</a>.</p>`
	tests := []struct{ in, want string }{
		{`<p>Body.</p>` + "\n" + line + "\n", `<p>Body.</p>`},
		{line + `<p>It appeared first on a napkin.</p>`, line[:3] + `The post <a href="https://b.example/p/" rel="noopener">Rest</a> appeared first on <a href="https://b.example" rel="noopener">B</a>.</p><p>It appeared first on a napkin.</p>`},
		{`<p>The post office appeared first on Main Street, then it moved.</p><p>End.</p>`, `<p>The post office appeared first on Main Street, then it moved.</p><p>End.</p>`},
	}
	for _, tt := range tests {
		if got, _ := sanitizeHTML(tt.in, nil); got != tt.want {
			t.Errorf("sanitizeHTML(%q) =\n%q, want\n%q", tt.in, got, tt.want)
		}
	}
	for in, want := range map[string]string{
		"An excerpt. The post Rest appeared first on B.":     "An excerpt.",
		"An excerpt about how the post appeared first on B.": "An excerpt about how the post appeared first on B.",
	} {
		if got := withoutAppearedFirst(in); got != want {
			t.Errorf("withoutAppearedFirst(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSanitizeHTMLExported: the sanitiser other packages use (campaign
// bodies) is the feed one without a base URL and without the feed-only
// tidying.
func TestSanitizeHTMLExported(t *testing.T) {
	const line = `<p>The post <a href="https://b.example/p/">Rest</a> appeared first on <a href="https://b.example">B</a>.</p>`
	tests := []struct{ in, want string }{
		{`<p>Body.</p>` + line, `<p>Body.</p><p>The post <a href="https://b.example/p/" rel="noopener">Rest</a> appeared first on <a href="https://b.example" rel="noopener">B</a>.</p>`},
		{`<p><a href="/relative">r</a><img src="img.png"><a href="//cdn.example/x">p</a></p>`, `<p>r<a href="https://cdn.example/x" rel="noopener">p</a></p>`},
		{`<script>x</script><p onclick="y()">t<img src="https://pixel.wp.com/g.gif"></p>`, `<p>t</p>`},
	}
	for _, tt := range tests {
		if got := SanitizeHTML(tt.in); got != tt.want {
			t.Errorf("SanitizeHTML(%q) =\n%q, want\n%q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []string{`<p>a<img src="https://x.example/a.png" width="1" height="1"></p>`, `<iframe src="https://www.youtube.com/embed/abc"></iframe>`} {
		want, _ := sanitizeHTML(tt, nil)
		if got := SanitizeHTML(tt); got != want {
			t.Errorf("SanitizeHTML(%q) = %q, sanitizeHTML gives %q", tt, got, want)
		}
	}
}
