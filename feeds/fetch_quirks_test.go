package feeds

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// TestFetchThenParseServedOddly serves real feeds the way misconfigured
// servers do: as web pages or downloads, with the charset only in the HTTP
// header, in UTF-16. Fetch and Parse together must read every one.
func TestFetchThenParseServedOddly(t *testing.T) {
	latin1 := charmap.ISO8859_1.NewEncoder()
	latin2 := charmap.ISO8859_2.NewEncoder()
	utf16LE := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder()
	utf16NoBOM := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder()
	frenchFeed := rssTitled(`<?xml version="1.0"?>`, "Café Thérapie")
	tests := []struct {
		name, contentType, wantTitle string
		body                         []byte
	}{
		{"as text/html", "text/html; charset=UTF-8", "Stillpoint Counseling – Blog", readFixture(t, "wordpress.xml")},
		{"as a download", "application/octet-stream", "Quiet Notes", readFixture(t, "atom.xml")},
		{"json feed as text/plain", "text/plain", "Micro Notes", readFixture(t, "jsonfeed.json")},
		{"latin-1 named only in the header", "application/rss+xml; charset=ISO-8859-1", "Café Thérapie",
			encode(t, latin1, frenchFeed)},
		{"latin-1 named only in a text/html header", "text/html; charset=iso-8859-1", "Café Thérapie",
			encode(t, latin1, frenchFeed)},
		// Read as Windows-1252, the usual guess, these bytes would say "¯yczliwoœæ".
		{"latin-2 named only in the header", "application/rss+xml; charset=ISO-8859-2", "Życzliwość wobec siebie",
			encode(t, latin2, rssTitled(`<?xml version="1.0"?>`, "Życzliwość wobec siebie"))},
		{"utf-16 with a byte order mark", "application/xml; charset=utf-16", "Café Thérapie",
			encode(t, utf16LE, rssTitled(`<?xml version="1.0" encoding="UTF-16"?>`, "Café Thérapie"))},
		{"utf-16le without a mark, said in the header", "text/xml; charset=UTF-16LE", "Café Thérapie",
			encode(t, utf16NoBOM, rssTitled("", "Café Thérapie"))},
		{"utf-16 with a header that says utf-8", "application/rss+xml; charset=utf-8", "Café Thérapie",
			encode(t, utf16LE, rssTitled(`<?xml version="1.0" encoding="UTF-16"?>`, "Café Thérapie"))},
		{"utf-8 with a header that says utf-16", "application/rss+xml; charset=utf-16", "Café Thérapie",
			[]byte(rssTitled(`<?xml version="1.0" encoding="UTF-8"?>`, "Café Thérapie"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.Write(tt.body)
			}))
			defer srv.Close()
			res, err := NewFetcher(FetcherOptions{}).Fetch(context.Background(), srv.URL+"/feed", Validators{})
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(res.Body, res.URL)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Title != tt.wantTitle || len(f.Items) == 0 {
				t.Errorf("feed title %q with %d items, want %q and items", f.Title, len(f.Items), tt.wantTitle)
			}
			for _, it := range f.Items {
				if strings.ContainsRune(it.Title, '\uFFFD') || strings.Contains(it.Title, "Ã") {
					t.Errorf("item title %q is garbled", it.Title)
				}
			}
		})
	}
}

const cloudflareChallenge = `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>` +
	`<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper" role="main">` +
	`<noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></noscript>` +
	`</div><script>(function(){window._cf_chl_opt={cvId: '3',cZone: "blog.example",cType: 'managed'};}());</script></body></html>`

// TestFetchRefused checks that a refusal reads as one line that says the
// site refused the request, names the bot wall when there is one, and says
// what to do about it.
func TestFetchRefused(t *testing.T) {
	const advice = "allow the feed URL, or practicemail's User-Agent, in the site's security or firewall settings"
	tests := []struct {
		name          string
		status        int
		headers       map[string]string
		body          string
		wantMsg       string
		wantPermanent bool
	}{
		{"cloudflare challenge", 403, map[string]string{"Server": "cloudflare", "Cf-Mitigated": "challenge"}, cloudflareChallenge,
			"the site refused the request (403 Forbidden): its Cloudflare bot protection blocks feed readers; " + advice, true},
		{"cloudflare block page", 403, map[string]string{"Server": "cloudflare"},
			`<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body><h1>Sorry, you have been blocked</h1></body></html>`,
			"the site refused the request (403 Forbidden): its Cloudflare bot protection blocks feed readers; " + advice, true},
		{"sucuri", 403, map[string]string{"X-Sucuri-Id": "19001", "X-Sucuri-Block": "BOT01"},
			`<html><head><title>Sucuri WebSite Firewall - Access Denied</title></head></html>`,
			"the site refused the request (403 Forbidden): its Sucuri bot protection blocks feed readers; " + advice, true},
		{"wordfence", 503, nil, `<html><body><p>Your access to this site has been limited by the site owner</p><p>Generated by Wordfence at Tue, 14 Jan 2025</p></body></html>`,
			"the site refused the request (503 Service Unavailable): its Wordfence bot protection blocks feed readers; " + advice, false},
		{"plain 403", 403, map[string]string{"Server": "nginx"}, `<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center></body></html>`,
			"the site refused the request (403 Forbidden): it may block feed readers, or the feed may be private; " + advice, true},
		{"404 behind cloudflare is not a wall", 404, map[string]string{"Server": "cloudflare"}, `<html><body>Page not found</body></html>`,
			"server answered 404 Not Found", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.headers {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "text/html; charset=UTF-8")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			fe := fetchErr(t, NewFetcher(FetcherOptions{}), srv.URL+"/feed/")
			if want := "feed " + srv.URL + "/feed/: " + tt.wantMsg; fe.Error() != want {
				t.Errorf("Error() = %q\n          want %q", fe.Error(), want)
			}
			if fe.Status != tt.status || fe.Permanent != tt.wantPermanent {
				t.Errorf("Status, Permanent = %d, %v; want %d, %v", fe.Status, fe.Permanent, tt.status, tt.wantPermanent)
			}
		})
	}
	t.Run("after a redirect", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/rss" {
				http.Redirect(w, r, "/feed/", http.StatusMovedPermanently)
				return
			}
			w.Header().Set("Cf-Mitigated", "challenge")
			w.WriteHeader(http.StatusForbidden)
		}))
		defer srv.Close()
		fe := fetchErr(t, NewFetcher(FetcherOptions{}), srv.URL+"/rss")
		want := "feed " + srv.URL + "/rss: the site refused the request (403 Forbidden, after a redirect to " + srv.URL +
			"/feed/): its Cloudflare bot protection blocks feed readers; " + advice
		if fe.Error() != want {
			t.Errorf("Error() = %q\n          want %q", fe.Error(), want)
		}
	})
}

// TestParseChallengePage covers a bot wall that answers 200: the page is
// named as a bot check, while an ordinary page behind the same service
// (which carries Cloudflare's scripts and, with a contact form, the word
// captcha) is still reported as a web page.
func TestParseChallengePage(t *testing.T) {
	_, err := Parse([]byte(cloudflareChallenge), "https://blog.example/feed/")
	want := "not a feed: got Cloudflare's bot check instead of the feed; " +
		"allow the feed URL, or practicemail's User-Agent, in the site's security or firewall settings"
	if !errors.Is(err, ErrNotFeed) || err.Error() != want {
		t.Errorf("Parse(challenge) error = %v\n                       want %q", err, want)
	}
	page := strings.Replace(string(readFixture(t, "homepage.html")), "</body>",
		`<form><div class="g-recaptcha" data-sitekey="x"></div>captcha</form>`+
			`<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script></body>`, 1)
	_, err = Parse([]byte(page), "https://stillpoint.example/")
	if err == nil || !strings.Contains(err.Error(), "got an HTML page") {
		t.Errorf("Parse(home page behind Cloudflare) error = %v, want the HTML page message", err)
	}
}
