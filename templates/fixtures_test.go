package templates

import (
	htmltemplate "html/template"
	"strings"
	"testing"
	"time"
)

// Placeholders as the mail path uses them: TokenLen (40) characters of
// [A-Za-z0-9_-], standing in for each recipient's token.
const (
	unsubPlaceholder = "PRACTICEMAIL_UNSUBSCRIBE_TOKEN_xxxxxxxxx"
	prefsPlaceholder = "PRACTICEMAIL_PREFERENCES_TOKEN_xx-x_xAz9"
	unsubURL         = "https://mail.stillpoint.example/unsubscribe/" + unsubPlaceholder
	prefsURL         = "https://mail.stillpoint.example/preferences/" + prefsPlaceholder
	postImage        = "https://stillpoint.example/images/river.jpg"
)

func marketingFooter() Footer {
	return Footer{
		PracticeName:   "Stillpoint Counseling",
		PostalAddress:  "1200 Pearl St, Suite 4, Boulder, CO 80302",
		UnsubscribeURL: unsubURL,
		PreferencesURL: prefsURL,
		Marketing:      true,
	}
}

func denver(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Denver")
	if err != nil {
		t.Fatalf("load time zone: %v", err)
	}
	return loc
}

// postFixture is a full post; its date is November 26 in UTC and November 25
// in Denver, where the practice is.
func postFixture(t testing.TB) PostEmail {
	return PostEmail{
		Practice: "Stillpoint Counseling",
		Title:    "Rest & repair: notes on the nervous system",
		Author:   "Dana Whitfield",
		Date:     time.Date(2026, 11, 26, 3, 30, 0, 0, time.UTC),
		TimeZone: denver(t),
		ContentHTML: htmltemplate.HTML(`<p>Our bodies keep <em>time</em> in ways we rarely notice.</p>` +
			`<h2>Three small practices</h2>` +
			`<ul><li>Slow your exhale.</li><li>Notice your feet.</li><li>Read <a href="https://stillpoint.example/blog/grounding?a=1&amp;b=2">the grounding post</a>.</li></ul>` +
			`<figure><img src="` + postImage + `" alt="A river at dusk" width="1200" height="800"><figcaption>The river at dusk</figcaption></figure>`),
		Summary: "Our bodies keep time in ways we rarely notice.",
		PostURL: "https://stillpoint.example/blog/rest-and-repair",
		Full:    true,
		BaseURL: "https://mail.stillpoint.example",
		Footer:  marketingFooter(),
	}
}

// digestFixture lists two posts, one without a link.
func digestFixture(t testing.TB) DigestEmail {
	p := postFixture(t)
	return DigestEmail{
		Practice: p.Practice,
		BaseURL:  p.BaseURL,
		Since:    time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC),
		TimeZone: p.TimeZone,
		Posts: []DigestPost{
			{Title: p.Title, Author: p.Author, Summary: p.Summary, URL: p.PostURL, Date: p.Date},
			{Title: "Winter hours & holidays", Summary: "We are closed Dec 24–26."},
		},
		Footer: marketingFooter(),
	}
}

func confirmFixture() ConfirmEmail {
	f := marketingFooter()
	// A confirmation footer with the marketing fields filled in but
	// Marketing off: none of them may be shown.
	f.Marketing = false
	return ConfirmEmail{
		Practice:   "Stillpoint Counseling",
		ConfirmURL: "https://mail.stillpoint.example/confirm/PRACTICEMAIL_CONFIRM_TOKEN_xxxxxxxxxxxxx",
		Footer:     f,
	}
}

func alreadyFixture() AlreadyEmail {
	return AlreadyEmail{
		Practice:       "Stillpoint Counseling",
		PreferencesURL: "https://mail.stillpoint.example/preferences/PRACTICEMAIL_PREFERENCES_TOKEN_xxxxxxxxx",
		Footer:         Footer{PracticeName: "Stillpoint Counseling"},
	}
}

func inquiryFixture() InquiryEmail {
	return InquiryEmail{
		Practice:   "Stillpoint Counseling",
		Name:       "Sam",
		BookingURL: "https://stillpoint.example/consult",
		Footer:     marketingFooter(),
	}
}

// campaignImage is the one image of campaignFixture's body.
const campaignImage = "https://stillpoint.example/images/january.jpg"

// campaignFixture is a campaign as compose renders one for Robin.
func campaignFixture() CampaignEmail {
	return CampaignEmail{
		Practice: "Stillpoint Counseling",
		Subject:  "Four consult openings in January",
		Body: htmltemplate.HTML(`<h1>Openings in January</h1>` +
			`<p>Dear Robin, I have <strong>four</strong> consult openings in January.</p>` +
			`<ul><li>Tuesday mornings</li><li>Thursday evenings</li></ul>` +
			`<p><img src="` + campaignImage + `" alt="The office in winter"/></p>` +
			`<p><a href="https://stillpoint.example/consult?type=free&amp;len=20" rel="noopener">Book a free consult</a></p>`),
		BodyText: "Openings in January\n===================\n\nDear Robin, I have four consult openings in January.\n\n" +
			"- Tuesday mornings\n- Thursday evenings\n\n[The office in winter]\n\n" +
			"Book a free consult (https://stillpoint.example/consult?type=free&len=20)",
		Footer: marketingFooter(),
	}
}

// fixtures holds data for every email; a template without an entry here
// fails TestRenderEveryEmail.
func fixtures(t testing.TB) map[string]any {
	return map[string]any{
		"post":           postFixture(t),
		"digest":         digestFixture(t),
		"confirm":        confirmFixture(),
		"already":        alreadyFixture(),
		"campaign":       campaignFixture(),
		"inquiry/thanks": inquiryFixture(),
		// The follow-ups of templates/sequences/inquiry.yaml share its data.
		"inquiry/protection":    inquiryFixture(),
		"inquiry/first-session": inquiryFixture(),
		"inquiry/honest":        inquiryFixture(),
		"inquiry/consult":       inquiryFixture(),
	}
}

func newEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// words collapses all runs of white space into single spaces, so that
// assertions do not depend on where text was wrapped.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// visibleText is the text a reader of the HTML part sees.
func visibleText(t *testing.T, h string) string {
	t.Helper()
	s, err := PlainText(h)
	if err != nil {
		t.Fatalf("plainText: %v", err)
	}
	return words(s)
}

// wantInBothParts fails the test for each of wants that the reader of
// either part would not see.
func wantInBothParts(t *testing.T, r Rendered, wants ...string) {
	t.Helper()
	html, text := visibleText(t, r.HTML), words(r.Text)
	for _, want := range wants {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q", want)
		}
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q", want)
		}
	}
}
