package templates

import (
	"strings"
	"testing"
)

func TestPost(t *testing.T) {
	d := postFixture(t)
	r, err := newEngine(t).Post(d)
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if r.Subject != d.Title {
		t.Errorf("subject = %q, want the title %q", r.Subject, d.Title)
	}
	wantInBothParts(t, r,
		d.Title,
		"By Dana Whitfield",
		"November 25, 2026", // the UTC date is the 26th; the practice is in Denver
		"Our bodies keep time in ways we rarely notice.",
		"Three small practices",
		"Read on the blog",
		"1200 Pearl St, Suite 4, Boulder, CO 80302",
	)
	for _, want := range []string{
		`<a class="button" href="` + d.PostURL + `"`,
		`<h1 style="`,
		`href="` + unsubURL + `"`,
		`href="` + prefsURL + `"`,
		`href="https://stillpoint.example/blog/grounding?a=1&amp;b=2"`,
	} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML part lacks %s", want)
		}
	}
	for _, want := range []string{"Read on the blog: " + d.PostURL, "Unsubscribe: " + unsubURL, "Email preferences: " + prefsURL} {
		if !strings.Contains(r.Text, want+"\n") {
			t.Errorf("text part lacks the line %q", want)
		}
	}
}

func TestPostSummary(t *testing.T) {
	d := postFixture(t)
	d.Full = false
	d.Summary = "A short note on rest."
	r, err := newEngine(t).Post(d)
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	for part, s := range map[string]string{"html": visibleText(t, r.HTML), "text": words(r.Text)} {
		if !strings.Contains(s, "A short note on rest.") || !strings.Contains(s, "Read on the blog") {
			t.Errorf("%s part lacks the summary or the link to the blog", part)
		}
		if strings.Contains(s, "Three small practices") {
			t.Errorf("%s part shows the full content of a summary email", part)
		}
	}
	if strings.Contains(r.HTML, postImage) {
		t.Errorf("summary email shows the post's image")
	}
}

func TestPostSubject(t *testing.T) {
	e := newEngine(t)
	cases := map[string]string{
		"Slow mornings":          "Slow mornings",
		"A title\nover  lines ":  "A title over lines",
		"":                       "New post from Stillpoint Counseling",
		"Fish & chips <and> you": "Fish & chips <and> you",
	}
	for title, want := range cases {
		d := postFixture(t)
		d.Title = title
		r, err := e.Post(d)
		if err != nil {
			t.Fatalf("Post(%q): %v", title, err)
		}
		if r.Subject != want {
			t.Errorf("title %q: subject %q, want %q", title, r.Subject, want)
		}
	}
}

func TestPostRefusesIncompleteFooter(t *testing.T) {
	e := newEngine(t)
	for _, mutate := range []func(*PostEmail){
		func(d *PostEmail) { d.Footer.Marketing = false },
		func(d *PostEmail) { d.Footer.PostalAddress = "" },
		func(d *PostEmail) { d.Footer.UnsubscribeURL = "" },
		func(d *PostEmail) { d.Footer.PreferencesURL = "" },
	} {
		d := postFixture(t)
		mutate(&d)
		if _, err := e.Post(d); err == nil {
			t.Errorf("Post with footer %+v succeeded", d.Footer)
		}
	}
}

func TestConfirm(t *testing.T) {
	e := newEngine(t)
	d := confirmFixture()
	r, err := e.Confirm(d)
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if r.Subject != "Please confirm your subscription" {
		t.Errorf("subject = %q", r.Subject)
	}
	if !strings.Contains(r.HTML, `href="`+d.ConfirmURL+`"`) || !strings.Contains(r.Text, d.ConfirmURL) {
		t.Errorf("confirm URL missing from a part")
	}
	for _, unwanted := range []string{d.Footer.PostalAddress, unsubURL, prefsURL, "nsubscribe", "preferences"} {
		if strings.Contains(r.HTML, unwanted) || strings.Contains(r.Text, unwanted) {
			t.Errorf("confirmation email shows %q", unwanted)
		}
	}
	d.Footer.Marketing = true
	if _, err := e.Confirm(d); err == nil {
		t.Errorf("Confirm with a marketing footer succeeded")
	}
}

func TestInquiryThanksCarriesCrisisResources(t *testing.T) {
	const crisis = "If you are in crisis, call or text 988 (US Suicide & Crisis Lifeline), or call 911."
	e := newEngine(t)
	for _, d := range []InquiryEmail{inquiryFixture(), {Practice: "Stillpoint Counseling", Footer: marketingFooter()}} {
		r, err := e.Render("inquiry/thanks", d)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if r.Subject != "Thanks for reaching out" {
			t.Errorf("subject = %q", r.Subject)
		}
		if !strings.Contains(visibleText(t, r.HTML), crisis) {
			t.Errorf("HTML part lacks %q", crisis)
		}
		if !strings.Contains(words(r.Text), crisis) {
			t.Errorf("text part lacks %q", crisis)
		}
		if !strings.Contains(r.HTML, `href="tel:988"`) {
			t.Errorf("HTML part has no tap-to-call link for 988")
		}
	}
}

func TestPlaceholdersSurvive(t *testing.T) {
	e := newEngine(t)
	post, err := e.Post(postFixture(t))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	thanks, err := e.Render("inquiry/thanks", inquiryFixture())
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for name, r := range map[string]Rendered{"post": post, "inquiry/thanks": thanks} {
		for _, ph := range []string{unsubPlaceholder, prefsPlaceholder} {
			for part, s := range map[string]string{"html": r.HTML, "text": r.Text} {
				if n := strings.Count(s, ph); n != 1 {
					t.Errorf("%s %s part: placeholder %s appears %d times, want 1", name, part, ph, n)
				}
			}
		}
		if !strings.Contains(r.HTML, `href="`+unsubURL+`"`) || !strings.Contains(r.Text, unsubURL+"\n") {
			t.Errorf("%s: unsubscribe URL not rendered verbatim", name)
		}
	}
}

// TestPostSaysWhyTheReaderGetsIt: each post email says in one line why it
// came, in both parts; the confirmation, sent before anyone subscribed,
// does not.
func TestPostSaysWhyTheReaderGetsIt(t *testing.T) {
	const why = "You're getting this because you subscribed to posts from Stillpoint Counseling at https://mail.stillpoint.example."
	e := newEngine(t)
	r, err := e.Post(postFixture(t))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if !strings.Contains(visibleText(t, r.HTML), why) {
		t.Errorf("HTML part lacks %q", why)
	}
	if !strings.Contains(words(r.Text), why) {
		t.Errorf("text part lacks %q", why)
	}
	c, err := e.Confirm(confirmFixture())
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if strings.Contains(c.HTML, "getting this because") || strings.Contains(c.Text, "getting this because") {
		t.Errorf("the confirmation email says the reader subscribed")
	}
}

// TestPostFiguresAreNotIndented: a figure has no side margins (browsers
// give it 40 px a side, a fifth of a phone's width), inlined so that mail
// clients that drop <style> apply it too.
func TestPostFiguresAreNotIndented(t *testing.T) {
	r, err := newEngine(t).Post(postFixture(t))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if !strings.Contains(r.HTML, `<figure style="margin:0 0 16px 0">`) {
		i := strings.Index(r.HTML, "<figure")
		t.Errorf("figure is not styled with margin 0 at the sides: %.120s", r.HTML[max(i, 0):])
	}
}

// A digest lists each post with its link, names the period in the
// practice's zone, counts its posts in the subject, and carries the
// marketing footer; it refuses to render without posts or footer.
func TestDigest(t *testing.T) {
	e := newEngine(t)
	d := digestFixture(t)
	r, err := e.Digest(d)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "2 new posts from Stillpoint Counseling" {
		t.Errorf("subject %q", r.Subject)
	}
	html, text := visibleText(t, r.HTML), words(r.Text)
	for _, want := range []string{"Rest & repair: notes on the nervous system", "Winter hours & holidays",
		"Posts since November 23, 2026", "By Dana Whitfield · November 25, 2026", "1200 Pearl St", "chose a weekly digest"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, html)
		}
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, part := range []string{r.HTML, r.Text} {
		if strings.Count(part, d.Posts[0].URL) != 1 || !strings.Contains(part, unsubPlaceholder) || !strings.Contains(part, prefsPlaceholder) {
			t.Errorf("a part lacks the post's one link or the footer's links:\n%s", part)
		}
	}
	d.Posts = d.Posts[:1]
	if r, err := e.Digest(d); err != nil || r.Subject != "A new post from Stillpoint Counseling" {
		t.Errorf("one post: subject %q, %v", r.Subject, err)
	}
	d.Posts = nil
	if _, err := e.Digest(d); err == nil {
		t.Error("a digest without posts rendered")
	}
	d = digestFixture(t)
	d.Footer.Marketing = false
	if _, err := e.Digest(d); err == nil {
		t.Error("a digest without a marketing footer rendered")
	}
}
