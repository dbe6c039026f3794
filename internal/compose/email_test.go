package compose

import (
	"strings"
	"testing"

	"github.com/practicemail/practicemail/templates"
)

// TestCampaignEmail: a hostile body and a hostile name, through Render,
// For and the campaign template, come out as a safe email whose two parts
// say the same thing.
func TestCampaignEmail(t *testing.T) {
	eng, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	src := "# Openings, {{first_name|friend}}\n\n<script>alert(1)</script>" +
		"<img src=\"https://tracker.example/o.gif\" width=\"1\" height=\"1\">\n\n" +
		"[Book]({{booking_url}}) with {{practice_name}}.\n"
	b, err := Render([]byte(src), Markdown, practice)
	if err != nil {
		t.Fatal(err)
	}
	const name = `<b>Zoë "Z" O'Neil</b>`
	h, text := b.For(name)
	r, err := eng.Campaign(templates.CampaignEmail{
		Practice: practice.PracticeName, Subject: "January openings", Body: h, BodyText: text,
		Footer: templates.Footer{PracticeName: practice.PracticeName, PostalAddress: "1 Main St",
			UnsubscribeURL: "https://mail.example/unsubscribe/T", PreferencesURL: "https://mail.example/preferences/T", Marketing: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "alert", "tracker.example", "<b>Zo"} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("HTML has %q", bad)
		}
	}
	for _, want := range []string{"Openings, &lt;b&gt;Zoë &#34;Z&#34; O&#39;Neil&lt;/b&gt;", `href="https://cal.example/book?type=consult&amp;len=20"`, "Stillpoint &amp; Co &lt;Therapy&gt;."} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	for _, want := range []string{"Openings, " + name, "Book (https://cal.example/book?type=consult&len=20) with Stillpoint & Co <Therapy>."} {
		if !strings.Contains(strings.Join(strings.Fields(r.Text), " "), want) {
			t.Errorf("text lacks %q:\n%s", want, r.Text)
		}
	}
}
