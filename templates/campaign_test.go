package templates

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// TestCampaign: the body inside the practice layout, in both parts, with
// the subject as given and the marketing footer.
func TestCampaign(t *testing.T) {
	d := campaignFixture()
	r, err := newEngine(t).Campaign(d)
	if err != nil {
		t.Fatalf("Campaign: %v", err)
	}
	if r.Subject != d.Subject {
		t.Errorf("subject = %q, want %q", r.Subject, d.Subject)
	}
	wantInBothParts(t, r,
		"Stillpoint Counseling",
		"Openings in January",
		"Dear Robin, I have four consult openings in January.",
		"Tuesday mornings",
		"Book a free consult",
		"You're getting this because you asked to hear from Stillpoint Counseling.",
		"1200 Pearl St, Suite 4, Boulder, CO 80302",
	)
	for _, want := range []string{
		`href="` + unsubURL + `"`,
		`href="` + prefsURL + `"`,
		`<h1 style="`, // the layout's CSS reaches the body's elements
		`href="https://stillpoint.example/consult?type=free&amp;len=20"`,
	} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML part lacks %s", want)
		}
	}
	for _, want := range []string{"Book a free consult (https://stillpoint.example/consult?type=free&len=20)", "Unsubscribe: " + unsubURL, "Email preferences: " + prefsURL} {
		if !strings.Contains(r.Text, want+"\n") {
			t.Errorf("text part lacks the line %q", want)
		}
	}
	for part, s := range map[string]string{"html": visibleText(t, r.HTML), "text": r.Text, "subject": r.Subject} {
		if strings.Contains(strings.ToLower(s), "test") {
			t.Errorf("%s part of a real campaign speaks of a test", part)
		}
	}
}

// TestCampaignTestMarker: a test copy says so where the practice cannot
// miss it, in the subject and at the top of both parts.
func TestCampaignTestMarker(t *testing.T) {
	d := campaignFixture()
	d.Test = true
	r, err := newEngine(t).Campaign(d)
	if err != nil {
		t.Fatalf("Campaign: %v", err)
	}
	if want := "[Test] " + d.Subject; r.Subject != want {
		t.Errorf("subject = %q, want %q", r.Subject, want)
	}
	const notice = "It was sent to you only, not to the campaign's recipients."
	html, text := visibleText(t, r.HTML), words(r.Text)
	for part, s := range map[string]string{"html": html, "text": text} {
		i, j := strings.Index(s, "This is a test."), strings.Index(s, "Openings in January")
		if i < 0 || j < 0 || i > j || !strings.Contains(s[i:j], notice) {
			t.Errorf("%s part: the test notice is missing or after the body:\n%s", part, s)
		}
	}
	checkEmailHTML(t, r.HTML, []string{campaignImage})
}

// TestCampaignNoTracking: nothing in a campaign counts its readers: the
// only images are the body's own, and the only links the body's and the
// footer's, as written (no redirect, no added parameters).
func TestCampaignNoTracking(t *testing.T) {
	r, err := newEngine(t).Campaign(campaignFixture())
	if err != nil {
		t.Fatalf("Campaign: %v", err)
	}
	checkEmailHTML(t, r.HTML, []string{campaignImage})
	root, err := html.Parse(strings.NewReader(r.HTML))
	if err != nil {
		t.Fatal(err)
	}
	wantLinks := []string{"https://stillpoint.example/consult?type=free&len=20", unsubURL, prefsURL}
	var links []string
	for n := range root.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if n.DataAtom == atom.A {
			links = append(links, attr(n, "href"))
		}
		for _, a := range n.Attr {
			if a.Key == "background" || (a.Key == "src" && n.DataAtom != atom.Img) {
				t.Errorf("<%s %s=%q> loads something", n.Data, a.Key, a.Val)
			}
		}
	}
	if !slices.Equal(links, wantLinks) {
		t.Errorf("links = %q, want %q", links, wantLinks)
	}
	if strings.Contains(r.HTML, "url(") {
		t.Errorf("HTML loads something from CSS")
	}
}

// TestCampaignTextFromBody: without a text part, one is made from the HTML.
func TestCampaignTextFromBody(t *testing.T) {
	d := campaignFixture()
	d.BodyText = ""
	r, err := newEngine(t).Campaign(d)
	if err != nil {
		t.Fatalf("Campaign: %v", err)
	}
	if !strings.Contains(r.Text, "Book a free consult (https://stillpoint.example/consult?type=free&len=20)") ||
		!strings.Contains(r.Text, "- Thursday evenings") {
		t.Errorf("text part not made from the body:\n%s", r.Text)
	}
}

func TestCampaignRefuses(t *testing.T) {
	e := newEngine(t)
	for name, mutate := range map[string]func(*CampaignEmail){
		"not marketing":    func(d *CampaignEmail) { d.Footer.Marketing = false },
		"no address":       func(d *CampaignEmail) { d.Footer.PostalAddress = "" },
		"no unsubscribe":   func(d *CampaignEmail) { d.Footer.UnsubscribeURL = "" },
		"no preferences":   func(d *CampaignEmail) { d.Footer.PreferencesURL = "" },
		"no practice name": func(d *CampaignEmail) { d.Footer.PracticeName = "" },
		"no subject":       func(d *CampaignEmail) { d.Subject = " " },
		"no body":          func(d *CampaignEmail) { d.Body = "" },
	} {
		d := campaignFixture()
		mutate(&d)
		if _, err := e.Campaign(d); err == nil {
			t.Errorf("%s: Campaign succeeded", name)
		}
	}
}
