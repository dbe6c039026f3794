package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t, storetest.URL(t, "sqlite"), nil)
	tok := e.links.Token(links.Unsubscribe, 1)
	for _, tc := range []struct{ method, path, ctype, body string }{
		{"GET", "/subscribe", "", ""}, {"POST", "/subscribe", formType, "email=x"}, {"GET", "/healthz", "", ""},
		{"GET", "/confirm/" + tok, "", ""}, {"GET", "/unsubscribe/" + tok, "", ""}, {"GET", "/nowhere", "", ""},
		{"GET", "/static/site.css", "", ""}, {"DELETE", "/subscribe", "", ""}, {"POST", "/subscribe", formType, strings.Repeat("a", 20000)},
	} {
		r := e.do(tc.method, tc.path, tc.ctype, tc.body)
		h := r.header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s %s: CSP %q lacks %s", tc.method, tc.path, csp, want)
			}
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s: headers %v", tc.method, tc.path, h)
		}
		if r.code >= 500 {
			t.Errorf("%s %s = %d", tc.method, tc.path, r.code)
		}
	}
	if r := e.get("/subscribe"); !strings.Contains(r.header.Get("Content-Security-Policy"), "form-action 'self' https://stillpoint.example") {
		t.Errorf("sign-up page's form-action lacks the allowed origin: %s", r.header.Get("Content-Security-Policy"))
	}
	if r := e.get("/static/site.css"); r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet = %d %s", r.code, r.header.Get("Content-Type"))
	}
}

func TestServerTimeouts(t *testing.T) {
	s := &Server{Addr: "127.0.0.1:0"}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	if s.srv.ReadHeaderTimeout <= 0 || s.srv.ReadTimeout <= 0 || s.srv.WriteTimeout <= 0 || s.srv.IdleTimeout <= 0 || s.srv.MaxHeaderBytes <= 0 {
		t.Errorf("server limits unset: %+v", s.srv)
	}
	if s.srv.ReadTimeout > time.Minute {
		t.Errorf("ReadTimeout %v lets a slow client hold a connection", s.srv.ReadTimeout)
	}
}

func TestClientAddr(t *testing.T) {
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "203.0.113.5:1234", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy", "10.0.0.2:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-written hops left of the real one ignored", "10.0.0.2:80", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies skipped", "10.0.0.2:80", []string{"198.51.100.1, 10.0.0.9", "10.0.0.3"}, "198.51.100.1"},
		{"garbled hop stops the walk", "10.0.0.2:80", []string{"198.51.100.1, garbage"}, "10.0.0.2"},
		{"all trusted", "10.0.0.2:80", []string{"10.0.0.7"}, "10.0.0.7"},
		{"ipv6 proxy", "[::1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"v4-mapped", "[::ffff:10.0.0.2]:80", []string{"198.51.100.1"}, "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientAddr(r).String(); got != tc.want {
				t.Errorf("clientAddr = %s, want %s", got, tc.want)
			}
		})
	}
}
