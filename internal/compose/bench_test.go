package compose

import (
	"github.com/practicemail/practicemail/templates"
	"strings"
	"testing"
)

// benchBody is a campaign of a usual length: a heading, a few paragraphs,
// a list and a booking link.
var benchBody = "# Openings in January\n\n" + strings.Repeat("I have a few consult openings this month, and I wanted you to hear first. "+
	"They tend to go quickly in the new year.\n\n", 6) + "- Tuesday mornings\n- Thursday evenings\n\n[Book a free consult]({{booking_url}})\n"

// BenchmarkFor measures what a send pays per recipient: nothing but a
// lookup for a body without {{first_name}}, the text part made again for
// one with it.
func BenchmarkFor(b *testing.B) {
	for _, bc := range []struct{ name, src string }{
		{"impersonal", benchBody},
		{"personal", "Dear {{first_name}},\n\n" + benchBody},
	} {
		body, err := Render([]byte(bc.src), Markdown, practice)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				body.For("Robin")
			}
		})
	}
}

// BenchmarkRender measures rendering a body once per campaign.
func BenchmarkRender(b *testing.B) {
	for b.Loop() {
		if _, err := Render([]byte(benchBody), Markdown, practice); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForAndCampaign measures a personal body's whole per-recipient
// cost when each copy is also rendered through the campaign template, for
// comparison with For alone.
func BenchmarkForAndCampaign(b *testing.B) {
	eng, err := templates.New()
	if err != nil {
		b.Fatal(err)
	}
	body, err := Render([]byte("Dear {{first_name}},\n\n"+benchBody), Markdown, practice)
	if err != nil {
		b.Fatal(err)
	}
	footer := templates.Footer{PracticeName: "P", PostalAddress: "1 Main St", UnsubscribeURL: "https://m.example/u/T",
		PreferencesURL: "https://m.example/p/T", Marketing: true}
	for b.Loop() {
		h, text := body.For("Robin")
		if _, err := eng.Campaign(templates.CampaignEmail{Practice: "P", Subject: "S", Body: h, BodyText: text, Footer: footer}); err != nil {
			b.Fatal(err)
		}
	}
}
