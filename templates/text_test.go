package templates

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlainText(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"paragraphs", "<p>One\n  two.</p><p>Three.</p>", "One two.\n\nThree."},
		{"line breaks", "<p>Line one<br>Line two<br/></p>", "Line one\nLine two"},
		{"inline markup", "<p>A <strong>bold</strong> and <em>soft</em> word, con<b>join</b>ed.</p>", "A bold and soft word, conjoined."},
		{"entities", "<p>Fish &amp; chips &lt;3 &#8212; caf&eacute;</p>", "Fish & chips <3 — café"},
		{"link", `<p>See <a href="https://x.example/a?b=1&amp;c=2">this post</a>.</p>`, "See this post (https://x.example/a?b=1&c=2)."},
		{"link showing its URL", `<p><a href="https://x.example/">x.example</a></p>`, "x.example"},
		{"mail link", `<p><a href="mailto:hi@x.example">hi@x.example</a></p>`, "hi@x.example"},
		{"link without text", `<p><a href="https://x.example/a"></a></p>`, "https://x.example/a"},
		{"fragment link", `<p><a href="#notes">notes</a></p>`, "notes"},
		{"unordered list", "<ul><li>One</li><li>Two</li></ul><p>After.</p>", "- One\n- Two\n\nAfter."},
		{"ordered list", `<ol start="3"><li>Three</li><li>Four</li></ol>`, "3. Three\n4. Four"},
		{"nested list", "<ul><li>Outer<ul><li>Inner</li></ul></li><li>Next</li></ul>", "- Outer\n  - Inner\n- Next"},
		{"headings", "<h1>Big</h1><h2>Mid</h2><h3>Small</h3><p>Text</p>", "Big\n===\n\nMid\n---\n\nSmall\n\nText"},
		{"quote", "<blockquote><p>Be here now.</p></blockquote>", "> Be here now."},
		{"pre", "<pre>  keep\n    this</pre>", "  keep\n    this"},
		{"dropped elements", "<p>Hi</p><script>alert(1)</script><style>p{}</style>", "Hi"},
		{"image alt", `<p><img src="https://x.example/a.jpg" alt="A river"></p>`, "[A river]"},
		{"image without alt", `<p><img src="https://x.example/a.jpg"></p><p>Text</p>`, "Text"},
		{"bare text", "Just text", "Just text"},
		{"rule", "<p>A</p><hr><p>B</p>", "A\n\n----\n\nB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PlainText(c.in)
			if err != nil {
				t.Fatalf("plainText: %v", err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("PlainText(%q) mismatch (-want +got):\n%s", c.in, diff)
			}
		})
	}
}

func TestPlainTextWraps(t *testing.T) {
	long := strings.Repeat("word ", 40)
	url := "https://stillpoint.example/blog/" + strings.Repeat("a", 80)
	in := "<p>" + long + `<a href="` + url + `">link</a></p><ul><li>` + long + "</li></ul>"
	got, err := PlainText(in)
	if err != nil {
		t.Fatalf("plainText: %v", err)
	}
	for _, line := range strings.Split(got, "\n") {
		if len(line) > wrapWidth && !strings.Contains(line, url) {
			t.Errorf("line of %d columns: %q", len(line), line)
		}
	}
	if !strings.Contains(got, "("+url+")") {
		t.Errorf("long URL was broken: %q", got)
	}
	if !strings.Contains(got, "\n  word word") {
		t.Errorf("list item continuation lines are not indented under the bullet:\n%s", got)
	}
}
