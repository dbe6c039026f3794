package templates

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestPagesRenderEveryPage(t *testing.T) {
	p, err := NewPages()
	if err != nil {
		t.Fatal(err)
	}
	data := Page{
		Practice: "Stillpoint <Counseling>", PostalAddress: "1200 Pearl St", Title: "A title",
		Paragraphs: []string{"First & second."}, Link: &Link{URL: "/subscribe", Text: "Back"},
		Action: "/preferences/abc", Form: SignupFields{Email: `"><script>`, Name: "Ann"},
		Errors: map[string]string{"email": "Check the address."},
		Topics: []TopicChoice{{Value: "posts", Label: "New posts", Checked: true}, {Value: "news", Label: "News"}},
		Stamp:  "123.abc", ReturnTo: "https://stillpoint.example/thanks",
	}
	for _, name := range p.Names() {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			if err := p.Render(&b, name, data); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, want := range []string{`<html lang="en">`, `name="viewport"`, "Stillpoint &lt;Counseling&gt;", "<h1>A title</h1>", `href="/static/site.css"`} {
				if !strings.Contains(out, want) {
					t.Errorf("page %s lacks %q", name, want)
				}
			}
			if strings.Contains(out, "<script") || strings.Contains(out, "style=") {
				t.Errorf("page %s has a script or an inline style, which the CSP refuses:\n%s", name, out)
			}
		})
	}
	var b strings.Builder
	if err := p.Render(&b, PageSubscribe, data); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`name="email"`, `name="name"`, `name="topics"`, `name="website"`, `name="ts"`, `name="return_to"`, `for="email"`, `aria-invalid="true"`} {
		if !strings.Contains(b.String(), field) {
			t.Errorf("subscribe page lacks %s", field)
		}
	}
	if len(p.CSS()) == 0 {
		t.Error("no stylesheet")
	}
}

func TestPagesRefuseBrokenTemplates(t *testing.T) {
	good := fstest.MapFS{
		"web/layout.html": {Data: []byte(`{{define "layout"}}<p>{{template "content" .}}</p>{{end}}`)},
		"web/site.css":    {Data: []byte(`body{}`)},
	}
	for _, n := range []string{PageMessage, PageSubscribe, PageUnsubscribe, PagePreferences, PageErase} {
		good["web/"+n+".html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}x{{end}}`)}
	}
	if _, err := loadPages(good, "web"); err != nil {
		t.Fatalf("good set refused: %v", err)
	}
	for _, tc := range []struct{ name, file, src, want string }{
		{"parse error", "web/message.html", `{{define "content"}}{{.Title}{{end}}`, "web/message.html"},
		{"no content", "web/erase.html", `{{define "other"}}x{{end}}`, `defines no "content"`},
		{"ambiguous escaping", "web/subscribe.html", `{{define "content"}}<a href="{{if .Title}}x{{end}}>{{end}}`, "web/subscribe.html"},
		{"missing page", "web/preferences.html", "", "web/preferences.html: missing"},
		{"missing stylesheet", "web/site.css", "", "site.css"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range good {
				fsys[k] = v
			}
			if tc.src == "" {
				delete(fsys, tc.file)
			} else {
				fsys[tc.file] = &fstest.MapFile{Data: []byte(tc.src)}
			}
			_, err := loadPages(fsys, "web")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadPages = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
