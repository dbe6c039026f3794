package templates

import (
	"strings"
	"testing"
	"testing/fstest"
)

// validFS is the smallest set of templates load accepts.
func validFS() fstest.MapFS {
	return fstest.MapFS{
		"email/layout.html":     {Data: []byte(`{{define "layout"}}<p>{{.Practice}}</p>{{template "content" .}}{{end}}`)},
		"email/layout.txt":      {Data: []byte(`{{define "layout"}}{{.Practice}} {{template "content" .}}{{end}}`)},
		"email/partials/x.html": {Data: []byte(`{{define "x"}}x{{end}}`)},
		"email/partials/x.txt":  {Data: []byte(`{{define "x"}}x{{end}}`)},
		"email/a/b.html":        {Data: []byte(`{{define "content"}}<b>{{.Practice}}</b>{{template "x"}}{{end}}`)},
		"email/a/b.txt":         {Data: []byte(`{{define "content"}}{{.Practice}}{{end}}`)},
	}
}

func TestLoadValid(t *testing.T) {
	emails, err := load(validFS(), "email")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(emails) != 1 || emails["a/b"].html == nil {
		t.Fatalf("emails = %v, want exactly a/b", emails)
	}
}

func TestLoadRefuses(t *testing.T) {
	cases := []struct {
		name     string
		change   func(fstest.MapFS)
		wantFile string
	}{
		{"html parse error", func(m fstest.MapFS) {
			m["email/a/b.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{.Practice}{{end}}`)}
		}, "email/a/b.html"},
		{"text parse error", func(m fstest.MapFS) {
			m["email/a/b.txt"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{if}}{{end}}`)}
		}, "email/a/b.txt"},
		{"partial parse error", func(m fstest.MapFS) {
			m["email/partials/x.txt"] = &fstest.MapFile{Data: []byte(`{{define "x"}}{{end}`)}
		}, "email/partials/x.txt"},
		{"html without txt", func(m fstest.MapFS) { delete(m, "email/a/b.txt") }, "email/a/b.html"},
		{"txt without html", func(m fstest.MapFS) { delete(m, "email/a/b.html") }, "email/a/b.txt"},
		{"no layout", func(m fstest.MapFS) {
			delete(m, "email/layout.html")
			delete(m, "email/layout.txt")
		}, "email/layout.html"},
		{"no content", func(m fstest.MapFS) {
			m["email/a/b.html"] = &fstest.MapFile{Data: []byte(`{{define "body"}}{{end}}`)}
		}, "email/a/b.html"},
		{"ambiguous URL context", func(m fstest.MapFS) {
			m["email/a/b.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}<a href="{{if .C}}/p/{{else}}/s?q={{end}}{{.X}}">x</a>{{end}}`)}
		}, "email/a/b.html"},
		{"call of a missing partial", func(m fstest.MapFS) {
			m["email/a/b.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{template "nope" .}}{{end}}`)}
		}, "email/a/b.html"},
		{"text call of a missing partial", func(m fstest.MapFS) {
			m["email/a/b.txt"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{if .C}}{{template "nope" .}}{{end}}{{end}}`)}
		}, "email/a/b.txt"},
		{"stray file", func(m fstest.MapFS) {
			m["email/a/notes.md"] = &fstest.MapFile{Data: []byte(`hello`)}
		}, "email/a/notes.md"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := validFS()
			c.change(m)
			_, err := load(m, "email")
			if err == nil {
				t.Fatal("load succeeded")
			}
			if !strings.Contains(err.Error(), c.wantFile) {
				t.Errorf("error %q does not name %s", err, c.wantFile)
			}
		})
	}
}
