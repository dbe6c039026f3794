package feeds

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPlainText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "  Hello\n\tworld  ", "Hello world"},
		{"entities", "Caf&eacute; &amp; tea &#8211; &#x2019;", "Café & tea – ’"},
		{"decodes once", "Tom &amp;amp; Jerry", "Tom &amp; Jerry"},
		{"tags", "<p>One</p><p>Two</p>", "One Two"},
		{"inline tags join", "un<em>usual</em> word", "unusual word"},
		{"br separates", "line<br>next", "line next"},
		{"script hidden", "a<script>var x = '<p>';</script>b", "a b"},
		{"style hidden", "<style>p{}</style>text", "text"},
		{"less than", "2 < 3", "2 < 3"},
		{"nbsp and zero width", "a&nbsp;b\u200bc", "a b c"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainText(tt.in); got != tt.want {
				t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	short := "A short summary."
	if got := summarise(short); got != short {
		t.Errorf("summarise(short) = %q", got)
	}
	long := strings.Repeat("word ", 100) // 500 runes
	got := summarise(long)
	if n := utf8.RuneCountInString(got); n > summaryLimit {
		t.Errorf("summary has %d runes, want <= %d", n, summaryLimit)
	}
	if !strings.HasSuffix(got, "word…") {
		t.Errorf("summary %q should end on a whole word with …", got)
	}
	accented := strings.Repeat("é", 400)
	if got := summarise(accented); utf8.RuneCountInString(got) != summaryLimit || !utf8.ValidString(got) {
		t.Errorf("unbroken text: got %d runes, valid=%v", utf8.RuneCountInString(got), utf8.ValidString(got))
	}
	trailing := strings.Repeat("x", 290) + ", and then more words follow here"
	if got := summarise(trailing); strings.Contains(got, ",…") {
		t.Errorf("summary %q keeps punctuation before the ellipsis", got)
	}
}

func TestTextToHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{"one", "<p>one</p>"},
		{"a\nb", "<p>a<br>b</p>"},
		{"a\r\n\r\nb <c> & d", "<p>a</p><p>b &lt;c&gt; &amp; d</p>"},
		{"\n\n", ""},
	}
	for _, tt := range tests {
		if got := textToHTML(tt.in); got != tt.want {
			t.Errorf("textToHTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestTitleText covers titles as feeds really escape them: once (plain
// XML), twice (WordPress plugins, HubSpot, jekyll-feed's type="html"), and
// inside CDATA, where XML decodes nothing.
func TestTitleText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Finding calm", "Finding calm"},
		{"numeric reference", "It&#8217;s okay", "It’s okay"},
		{"escaped twice", "It&amp;#8217;s okay", "It’s okay"},
		{"escaped three times", "It&amp;amp;#8217;s okay", "It’s okay"},
		{"named, escaped twice", "Don&amp;rsquo;t panic &amp;amp; breathe", "Don’t panic & breathe"},
		{"html title", "Small <em>changes</em> &amp;amp; big feelings", "Small changes & big feelings"},
		{"bare ampersand", "AT&T & friends", "AT&T & friends"},
		{"less than", "2 < 3", "2 < 3"},
		{"not an entity", "Q&A;session", "Q&A;session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := titleText(tt.in); got != tt.want {
				t.Errorf("titleText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestParseTitleEscaping runs the same titles through whole RSS documents,
// in element text and in CDATA, as gofeed hands them over.
func TestParseTitleEscaping(t *testing.T) {
	for _, title := range []string{
		"It&#8217;s okay to rest",
		"It&amp;#8217;s okay to rest",
		"<![CDATA[It&#8217;s okay to rest]]>",
		"<![CDATA[It&amp;#8217;s okay to rest]]>",
		"<![CDATA[It’s okay to rest]]>",
	} {
		body := `<rss version="2.0"><channel><title>t</title><item><title>` + title +
			`</title><link>https://x.example/p</link><description>d</description></item></channel></rss>`
		f, err := Parse([]byte(body), "https://x.example/")
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Items[0].Title; got != "It’s okay to rest" {
			t.Errorf("title %s parsed as %q", title, got)
		}
	}
}
