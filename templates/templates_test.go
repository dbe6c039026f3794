package templates

import (
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func TestEveryTemplateHasTwin(t *testing.T) {
	seen := map[string][]string{}
	err := fs.WalkDir(files, "email", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := path.Ext(p)
		seen[strings.TrimSuffix(p, ext)] = append(seen[strings.TrimSuffix(p, ext)], ext)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 {
		t.Fatal("no templates embedded")
	}
	for name, exts := range seen {
		slices.Sort(exts)
		if !slices.Equal(exts, []string{".html", ".txt"}) {
			t.Errorf("%s: have %v, want exactly .html and .txt", name, exts)
		}
	}
}

func TestRenderEveryEmail(t *testing.T) {
	e := newEngine(t)
	data := fixtures(t)
	for _, name := range e.Names() {
		t.Run(name, func(t *testing.T) {
			d, ok := data[name]
			if !ok {
				t.Fatalf("no fixture for email %q: add one to fixtures()", name)
			}
			r, err := e.Render(name, d)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if r.Subject == "" || strings.Contains(r.Subject, "\n") {
				t.Errorf("subject %q: want one non-empty line", r.Subject)
			}
			for part, s := range map[string]string{"html": r.HTML, "text": r.Text} {
				if strings.Contains(s, "<no value>") {
					t.Errorf("%s part shows <no value>: a field is missing", part)
				}
			}
			if !strings.Contains(r.Text, "Stillpoint Counseling") {
				t.Errorf("text part lacks the practice name header")
			}
			checkEmailHTML(t, r.HTML, []string{postImage, campaignImage})
		})
	}
	for name := range data {
		if !e.Has(name) {
			t.Errorf("fixture for %q, which is not a template", name)
		}
	}
}

var fontSize = regexp.MustCompile(`font-size:\s*(\d+)px`)

// checkEmailHTML asserts what every HTML part must be: no script, no event
// handlers, no external CSS, styles inlined, only an @media block left in
// <style>, readable type, and no images but the allowed ones.
func checkEmailHTML(t *testing.T, doc string, images []string) {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("parse rendered HTML: %v", err)
	}
	for n := range root.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.DataAtom {
		case atom.Script, atom.Link, atom.Iframe, atom.Object, atom.Embed:
			t.Errorf("rendered HTML has a <%s> element", n.Data)
		case atom.Style:
			checkStyleBlock(t, n)
		case atom.Body:
			if attr(n, "style") == "" {
				t.Errorf("<body> has no inlined style attribute")
			}
		case atom.Img:
			if src := attr(n, "src"); !slices.Contains(images, src) {
				t.Errorf("image %q is not the post's own", src)
			}
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("<%s> has event handler attribute %s", n.Data, a.Key)
			}
		}
	}
	for _, m := range fontSize.FindAllStringSubmatch(doc, -1) {
		if px, _ := strconv.Atoi(m[1]); px < 16 {
			t.Errorf("font-size %spx is below 16px", m[1])
		}
	}
	if !strings.Contains(doc, `class="container"`) || !strings.Contains(doc, "max-width:600px") {
		t.Errorf("no 600px container with inlined max-width")
	}
}

// checkStyleBlock asserts that a remaining <style> holds one @media block
// and nothing else.
func checkStyleBlock(t *testing.T, n *html.Node) {
	t.Helper()
	var css strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			css.WriteString(c.Data)
		}
	}
	s := strings.TrimSpace(css.String())
	if !strings.HasPrefix(s, "@media") {
		t.Errorf("<style> holds more than @media rules: %q", s)
		return
	}
	depth := 0
	for i, r := range s {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 && i != len(s)-1 {
				t.Errorf("<style> holds rules after its @media block: %q", s[i+1:])
			}
		}
	}
}

func TestUnknownEmail(t *testing.T) {
	if _, err := newEngine(t).Render("inquiry/nope", inquiryFixture()); err == nil {
		t.Fatal("Render of an unknown email succeeded")
	}
}

func TestRenderWrongData(t *testing.T) {
	_, err := newEngine(t).Render("post", struct{ Practice string }{"x"})
	if err == nil {
		t.Fatal("Render with data lacking fields succeeded")
	}
}
