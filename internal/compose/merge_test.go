package compose

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

var practice = Fields{PracticeName: "Stillpoint & Co <Therapy>", BookingURL: "https://cal.example/book?type=consult&len=20"}

func TestMergeFields(t *testing.T) {
	tests := []struct {
		name       string
		f          Format
		src        string
		first      string // the recipient's first name
		html, text string
	}{
		{"first name", Markdown, "Hi {{first_name}},", "Sam",
			"<p>Hi Sam,</p>", "Hi Sam,"},
		{"default fallback", Markdown, "Hi {{first_name}},", "",
			"<p>Hi there,</p>", "Hi there,"},
		{"blank name takes the fallback", Markdown, "Hi {{ first_name | Friend }},", " \t ",
			"<p>Hi Friend,</p>", "Hi Friend,"},
		{"own fallback with spaces and markup", HTML, "<p>Dear {{first_name|Reader & friend}}</p>", "",
			"<p>Dear Reader &amp; friend</p>", "Dear Reader & friend"},
		{"two slots, two fallbacks", Markdown, "{{first_name|Friend}}, yes, {{first_name}}.", "",
			"<p>Friend, yes, there.</p>", "Friend, yes, there."},
		{"two slots, one name", Markdown, "{{first_name|Friend}}, yes, {{first_name}}.", "Ana",
			"<p>Ana, yes, Ana.</p>", "Ana, yes, Ana."},
		{"name's spaces collapsed", Markdown, "Hi {{first_name}}", " Mary  Ann\n",
			"<p>Hi Mary Ann</p>", "Hi Mary Ann"},
		{"practice name escaped once", Markdown, "From **{{practice_name}}**", "",
			"<p>From <strong>Stillpoint &amp; Co &lt;Therapy&gt;</strong></p>", "From Stillpoint & Co <Therapy>"},
		{"practice name is not markdown", Markdown, "{{practice_name}}", "",
			"<p>Stillpoint &amp; Co &lt;Therapy&gt;</p>", "Stillpoint & Co <Therapy>"},
		{"booking url in a markdown link", Markdown, "[Book a consult]({{booking_url}})", "",
			`<p><a href="https://cal.example/book?type=consult&amp;len=20" rel="noopener">Book a consult</a></p>`,
			"Book a consult (https://cal.example/book?type=consult&len=20)"},
		{"booking url in an html href", HTML, `<p><a href="{{ booking_url }}">Book</a></p>`, "",
			`<p><a href="https://cal.example/book?type=consult&amp;len=20" rel="noopener">Book</a></p>`,
			"Book (https://cal.example/book?type=consult&len=20)"},
		{"booking url with a fragment", HTML, `<a href="{{booking_url}}#times">Times</a>`, "",
			`<a href="https://cal.example/book?type=consult&amp;len=20#times" rel="noopener">Times</a>`,
			"Times (https://cal.example/book?type=consult&len=20#times)"},
		{"bare booking url becomes a link", Markdown, "Book: {{booking_url}}", "",
			`<p>Book: <a href="https://cal.example/book?type=consult&amp;len=20" rel="noopener">https://cal.example/book?type=consult&amp;len=20</a></p>`,
			"Book: https://cal.example/book?type=consult&len=20"},
		{"booking url in html text", HTML, "<p>Book: {{booking_url}}</p>", "",
			"<p>Book: https://cal.example/book?type=consult&amp;len=20</p>", "Book: https://cal.example/book?type=consult&len=20"},
		{"practice name in alt text", HTML, `<img src="https://img.example/logo.png" alt="{{practice_name}} logo">`, "",
			`<img src="https://img.example/logo.png" alt="Stillpoint &amp; Co &lt;Therapy&gt; logo"/>`, "[Stillpoint & Co <Therapy> logo]"},
		{"first name in a heading and bold", Markdown, "# Hello {{first_name}}\n\n**{{first_name}}**!", "Jo",
			"<h1>Hello Jo</h1>\n<p><strong>Jo</strong>!</p>", "Hello Jo\n========\n\nJo!"},
		{"first name in a code span", Markdown, "`{{first_name}}`", "Jo",
			"<p><code>Jo</code></p>", "Jo"},
		{"first name inside a link's text", Markdown, "[See you, {{first_name}}]({{booking_url}})", "Jo",
			`<p><a href="https://cal.example/book?type=consult&amp;len=20" rel="noopener">See you, Jo</a></p>`,
			"See you, Jo (https://cal.example/book?type=consult&len=20)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Render([]byte(tt.src), tt.f, practice)
			if err != nil {
				t.Fatal(err)
			}
			h, text := b.For(tt.first)
			if diff := cmp.Diff(tt.html, string(h)); diff != "" {
				t.Errorf("HTML (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.text, text); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
			if want := strings.Contains(tt.src, "first_name"); b.Personal() != want {
				t.Errorf("Personal() = %v, want %v", b.Personal(), want)
			}
		})
	}
}

// TestMergeFieldErrors: a field the body cannot have is refused at Render,
// naming it, rather than sent as braces or as nothing.
func TestMergeFieldErrors(t *testing.T) {
	tests := []struct {
		name, src string
		fields    Fields
		want      string // in the error
	}{
		{"unknown field", "Hi {{frist_name}}", practice, "{{frist_name}}"},
		{"unknown field among good ones", "{{first_name}} at {{practice_name}}: {{phone}}", practice, "{{phone}}"},
		{"empty field", "Hi {{}}", practice, "{{}}"},
		{"case matters", "Hi {{First_Name}}", practice, "{{First_Name}}"},
		{"unclosed field", "Hi {{first_name", practice, `"{{first_name" is not a merge field`},
		{"field across lines", "Hi {{first\n_name}}", practice, "is not a merge field"},
		{"nested braces", "Hi {{{first_name}}}", practice, "is not a merge field"},
		{"fallback on practice name", "{{practice_name|Us}}", practice, "only {{first_name}} takes a fallback"},
		{"empty fallback", "Hi {{first_name|}}", practice, "fallback after | is empty"},
		{"booking url not set", "[Book]({{booking_url}})", Fields{PracticeName: "P"}, "practice.booking_url"},
		{"booking url not http", "[Book]({{booking_url}})", Fields{BookingURL: "javascript:alert(1)"}, "practice.booking_url"},
		{"practice name not set", "{{practice_name}}", Fields{}, "practice.name"},
		{"first name in alt text", `<img src="https://img.example/a.png" alt="for {{first_name}}">`, practice, "<img alt>"},
		{"first name in a link's address", `<a href="https://x.example/?n={{first_name}}">x</a>`, practice, "<a href>"},
		{"practice name in a link's address", `<a href="https://x.example/{{practice_name}}">x</a>`, practice, "{{practice_name}} cannot be part of <a href>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render([]byte(tt.src), HTML, tt.fields)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render(%q) err = %v, want one containing %q", tt.src, err, tt.want)
			}
		})
	}
}

// TestForEscapesNames: whatever a person typed as their name is text in
// the HTML (one text node, equal to the name) and verbatim in the text
// part; it never becomes markup.
func TestForEscapesNames(t *testing.T) {
	b, err := Render([]byte("<p>Hi <strong>{{first_name}}</strong>, welcome.</p>"), HTML, practice)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		`<script>alert(1)</script>`,
		`Zoë "Z" O'Neil`,
		`<img src=x onerror=alert(1)>`,
		`&amp; &lt;b&gt;`,
		`{{first_name}}`,
		`Ana]]></strong><a href="javascript:alert(1)">x`,
		`x` + strings.Repeat("é", 3),
	} {
		h, text := b.For(name)
		if got := strongText(t, string(h)); got != name {
			t.Errorf("For(%q): the HTML's <strong> holds %q (HTML %s)", name, got, h)
		}
		if want := "Hi " + name + ", welcome."; text != want {
			t.Errorf("For(%q) text = %q, want %q", name, text, want)
		}
		if strings.Contains(string(h), "<script") || strings.Contains(string(h), "<img") || strings.Contains(string(h), "<a ") {
			t.Errorf("For(%q) made markup: %s", name, h)
		}
	}
}

// strongText parses h and returns the text of its <strong> element,
// failing unless that element holds exactly one text node.
func strongText(t *testing.T, h string) string {
	t.Helper()
	nodes, err := html.ParseFragment(strings.NewReader(h), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		t.Fatal(err)
	}
	var found *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.DataAtom == atom.Strong {
			found = n
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	if found == nil || found.FirstChild == nil || found.FirstChild != found.LastChild || found.FirstChild.Type != html.TextNode {
		t.Fatalf("no <strong> with one text node in %s", h)
	}
	return found.FirstChild.Data
}

// TestMergeMarkerInScriptIsGone: a field inside something the sanitiser
// removes leaves no slot behind.
func TestMergeMarkerInScriptIsGone(t *testing.T) {
	b, err := Render([]byte("<script>var n = '{{first_name}}'</script><p>Hello</p>"), HTML, practice)
	if err != nil {
		t.Fatal(err)
	}
	if b.Personal() {
		t.Error("Personal() = true for a slot that was sanitised away")
	}
	if h, _ := b.For("Sam"); string(h) != "<p>Hello</p>" {
		t.Errorf("HTML = %s", h)
	}
}

// TestForConcurrent: one Body serves many senders at once (run with -race).
func TestForConcurrent(t *testing.T) {
	b, err := Render([]byte("Hi {{first_name}}, from {{practice_name}}."), Markdown, practice)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, name := range []string{"Ana", "Bo", "", "Cy", "Dee"} {
		wg.Go(func() {
			for range 50 {
				want := "Hi " + name + ", from Stillpoint & Co <Therapy>."
				if name == "" {
					want = "Hi there, from Stillpoint & Co <Therapy>."
				}
				if _, text := b.For(name); text != want {
					t.Errorf("For(%q) text = %q", name, text)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestTextPart: the text part follows the HTML's structure as a post
// email's does: paragraphs, lists, quotes, links as "text (url)", long
// lines wrapped.
func TestTextPart(t *testing.T) {
	src := "## Openings\n\nDear {{first_name}}, I have openings this month. " +
		"They go quickly, so if you have been thinking about it, now is a good time to write.\n\n" +
		"- Tuesday mornings\n- Thursday evenings\n\n> Small steps count.\n\n" +
		"[Book a free consult]({{booking_url}}) or write to [me](mailto:hello@stillpoint.example).\n\n---\n\n" +
		"[https://stillpoint.example/faq](https://stillpoint.example/faq)\n"
	b, err := Render([]byte(src), Markdown, practice)
	if err != nil {
		t.Fatal(err)
	}
	_, text := b.For("Robin")
	want := `Openings
--------

Dear Robin, I have openings this month. They go quickly, so if you have been
thinking about it, now is a good time to write.

- Tuesday mornings
- Thursday evenings

> Small steps count.

Book a free consult (https://cal.example/book?type=consult&len=20) or write
to me (mailto:hello@stillpoint.example).

----

https://stillpoint.example/faq`
	if diff := cmp.Diff(want, text); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}
