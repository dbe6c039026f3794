package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/practicemail/practicemail/internal/browsertest"
	"github.com/practicemail/practicemail/internal/store"
)

// practiceSite is the practice's own website (WordPress, Squarespace) on
// another origin, with the README's sign-up snippet pasted into a page, and
// the thank-you page its return_to names.
type practiceSite struct {
	*httptest.Server
	snippet string
}

func newPracticeSite(t *testing.T) *practiceSite {
	p := &practiceSite{}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// paste puts the README's snippet on the page, pointed at practicemail at
// base and back at this site's thank-you page.
func (p *practiceSite) paste(t *testing.T, base string) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```html\n<form action=\"https://mail.stillpoint.example/subscribe\"")
	snippet, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no sign-up snippet (an html block with a form posting to https://mail.stillpoint.example/subscribe)")
	}
	snippet = `<form action="https://mail.stillpoint.example/subscribe"` + snippet
	for _, want := range []string{`name="email"`, `name="website"`, `name="return_to" value="https://stillpoint.example/thanks/"`} {
		if !strings.Contains(snippet, want) {
			t.Fatalf("the README's snippet lacks %s:\n%s", want, snippet)
		}
	}
	snippet = strings.ReplaceAll(snippet, "https://mail.stillpoint.example", base)
	p.snippet = strings.ReplaceAll(snippet, "https://stillpoint.example/thanks/", p.URL+"/thanks/")
}

func (p *practiceSite) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch r.URL.Path {
	case "/newsletter":
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Newsletter</title></head>
<body><h1>Our newsletter</h1>
%s</body></html>`, p.snippet)
	case "/thanks/":
		io.WriteString(w, `<!doctype html><html><head><title>Thanks</title></head><body><p id="thanks">Thanks! Check your inbox.</p></body></html>`)
	default:
		http.NotFound(w, r)
	}
}

// TestAFormPastedOnAnAllowedSiteSubscribesAndOneElsewhereIsRefused: the
// README's snippet on a page of an origin in http.allowed_origins signs a person up
// through the browser (a 303 back to return_to on that site, and the
// confirmation email); the same snippet on an origin not listed is
// refused, and nothing about that address is written or sent.
func TestAFormPastedOnAnAllowedSiteSubscribesAndOneElsewhereIsRefused(t *testing.T) {
	allowed, other := newPracticeSite(t), newPracticeSite(t)
	s := newSite(t, siteOptions{allowedOrigins: []string{allowed.URL}})
	allowed.paste(t, s.base)
	other.paste(t, s.base)
	b := browsertest.New(t, browsertest.Options{})

	// Not listed: refused with a page, nothing stored, nothing sent.
	const mallory = "mallory@example.com"
	pasteAndSubmit(t, b, other, "elsewhere", mallory)
	resp := b.Submit("elsewhere-submitted", chromedp.Click(chromedp.CSS("button[type=submit]")))
	if resp.Status < 400 || resp.Status >= 500 {
		t.Fatalf("a form on %s (not in allowed_origins) got status %d, want a 4xx refusal", other.URL, resp.Status)
	}
	if !s.absent(mallory) {
		t.Fatalf("a form from an origin not listed created subscriber %s", mallory)
	}

	// Listed: back on the practice's own thank-you page, one confirmation.
	const lin = "lin@example.com"
	pasteAndSubmit(t, b, allowed, "allowed", lin)
	resp = b.Submit("allowed-submitted", chromedp.Click(chromedp.CSS("button[type=submit]")))
	loc, err := chromedp.Run(b.Context(), chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || loc != allowed.URL+"/thanks/" {
		t.Fatalf("after submitting on %s: status %d at %s, want 200 at %s/thanks/", allowed.URL, resp.Status, loc, allowed.URL)
	}
	if msg := s.waitMail(lin, "", 30*time.Second); !strings.Contains(msg.TextPart, s.base+"/confirm/") {
		t.Fatalf("the message to %s has no confirmation link:\n%s", lin, msg.TextPart)
	}
	if st := s.subscriber(lin).Status; st != store.StatusPending {
		t.Fatalf("%s is %s after signing up from the pasted form, want pending until confirmed", lin, st)
	}
	if n := len(s.allMailTo(lin)); n != 1 {
		t.Fatalf("%s got %d messages, want one confirmation", lin, n)
	}
	if !s.absent(mallory) || len(s.allMailTo(mallory)) != 0 {
		t.Fatalf("the refused address %s was stored or mailed", mallory)
	}
}

// pasteAndSubmit opens the practice site's page with the snippet and
// fills it in.
func pasteAndSubmit(t *testing.T, b *browsertest.Browser, p *practiceSite, step, email string) {
	t.Helper()
	if code := b.Navigate(step+"-page", p.URL+"/newsletter"); code != http.StatusOK {
		t.Fatalf("GET %s/newsletter: %d", p.URL, code)
	}
	b.Do(step+"-filled-in", chromedp.SendKeys(chromedp.CSS("#pm-email"), email))
}
