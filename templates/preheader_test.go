package templates

import (
	"regexp"
	"strings"
	"testing"
)

// hiddenPreheader finds the preheader: the first element of the body, a
// div hidden from view (display:none and the rest of the usual pattern, for
// clients that ignore one property or another), holding the preview text.
var hiddenPreheader = regexp.MustCompile(`<body[^>]*>\s*<div style="([^"]*)">([^<]*)</div>`)

// A sequence step's preview text is the inbox preview: a hidden div at the
// top of the HTML body, escaped, never in the text part or the visible
// page; an email without preview text has no such div.
func TestPreviewTextIsAHiddenPreheader(t *testing.T) {
	e := newEngine(t)
	d := inquiryFixture()
	d.Preview = `A few words on feeling less, & why there is no "hurry".`
	for _, name := range []string{"inquiry/thanks", "inquiry/protection", "inquiry/consult"} {
		r, err := e.Render(name, d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := hiddenPreheader.FindStringSubmatch(r.HTML)
		if m == nil {
			t.Fatalf("%s: no preheader at the top of the body:\n%s", name, r.HTML[strings.Index(r.HTML, "<body"):][:400])
		}
		for _, prop := range []string{"display: none", "max-height: 0", "overflow: hidden", "opacity: 0", "mso-hide: all"} {
			if !strings.Contains(m[1], prop) {
				t.Errorf("%s: the preheader's style %q lacks %q", name, m[1], prop)
			}
		}
		if want := "A few words on feeling less, &amp; why there is no &#34;hurry&#34;."; m[2] != want {
			t.Errorf("%s: preheader text %q, want %q", name, m[2], want)
		}
		if strings.Contains(r.Text, "feeling less") {
			t.Errorf("%s: the preview text is in the text part", name)
		}
		if strings.Count(r.HTML, "feeling less") != 1 {
			t.Errorf("%s: the preview text shows %d times in the HTML, want once", name, strings.Count(r.HTML, "feeling less"))
		}
	}

	d.Preview = ""
	r, err := e.Render("inquiry/thanks", d)
	if err != nil {
		t.Fatal(err)
	}
	if hiddenPreheader.MatchString(r.HTML) || strings.Contains(r.HTML, "mso-hide") {
		t.Errorf("an email without preview text has a preheader")
	}
	post, err := e.Post(postFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if hiddenPreheader.MatchString(post.HTML) {
		t.Errorf("the post email, which has no preview text, has a preheader")
	}
}
