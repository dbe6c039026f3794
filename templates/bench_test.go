package templates

import (
	"fmt"
	htmltemplate "html/template"
	"strings"
	"testing"
)

// BenchmarkPost renders a post of about 20 KB of HTML, as the worker does once
// per post before personalising it for each recipient.
func BenchmarkPost(b *testing.B) {
	e := newEngine(b)
	d := postFixture(b)
	var content strings.Builder
	for i := 0; content.Len() < 20<<10; i++ {
		fmt.Fprintf(&content, `<h2>Part %d</h2><p>Our bodies keep <em>time</em> in ways we rarely notice; `+
			`<a href="https://stillpoint.example/blog/%d">read more about it</a> when you have a quiet moment.</p>`+
			`<ul><li>Slow your exhale.</li><li>Notice your feet on the floor.</li></ul>`, i, i)
	}
	d.ContentHTML = htmltemplate.HTML(content.String())
	b.SetBytes(int64(content.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Post(d); err != nil {
			b.Fatal(err)
		}
	}
}
