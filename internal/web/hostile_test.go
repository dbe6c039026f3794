package web

import (
	"bytes"
	"maps"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/store"
)

// hostile is one hostile or broken request. In path, form values and raw,
// {ts} is a genuine stamp of a form served a while ago, {tsnow} one served
// just now, and {unsub}, {prefs}, {confirm} are the victim's tokens (the
// pending person's for confirm); {forged}, {expired}, {truncated},
// {badchars}, {unknown} are what their names say.
type hostile struct {
	name         string
	method, path string
	ctype        string     // default: urlencoded when form is set
	form         url.Values // encoded as the body
	raw          string     // the body, when form is nil
	header       []string
	code         int
	page         string   // text the answer must contain
	sent         []string // the ledger rows the request may add (recipients)
	check        func(t *testing.T, e *env)
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

const (
	jsonType  = "application/json"
	checkMail = "Check your email"
	badLink   = "This link doesn't work"
	cut       = "This link is incomplete"
	crossSite = "https://evil.example"
)

var megabyte = strings.Repeat("a", 1<<20)

func hostileCases() []hostile {
	sub := func(name string, v url.Values, code int, page string, sent ...string) hostile {
		return hostile{name: name, method: "POST", path: "/subscribe", form: v, code: code, page: page, sent: sent}
	}
	js := func(name, body string, code int, sent ...string) hostile {
		return hostile{name: name, method: "POST", path: "/subscribe", ctype: jsonType, raw: body, code: code, sent: sent}
	}
	oneClick := form("List-Unsubscribe", "One-Click")
	return []hostile{
		sub("invalid address", form("email", "not-an-email", "ts", "{ts}", "topics", "posts"), 400, "doesn't look like an email address"),
		sub("empty address", form("email", "", "ts", "{ts}", "topics", "posts"), 400, "Please enter your email address"),
		sub("overlong address", form("email", strings.Repeat("a", 60)+"@"+strings.Repeat("b", 250)+".com", "ts", "{ts}", "topics", "posts"), 400, ""),
		sub("overlong local part", form("email", strings.Repeat("a", 65)+"@example.com", "ts", "{ts}", "topics", "posts"), 400, ""),
		sub("CR/LF and Bcc in the address", form("email", "ann@example.com\r\nBcc: evil@evil.example", "ts", "{ts}", "topics", "posts"), 400, ""),
		sub("LF alone in the address", form("email", "ann@example.com\nevil@evil.example"), 400, ""),
		sub("NUL in the address", form("email", "ann@example.com\x00evil@evil.example"), 400, ""),
		sub("two addresses", form("email", "ann@example.com, evil@evil.example"), 400, ""),
		sub("display name and address", form("email", "Ann <evil@evil.example>"), 400, ""),
		sub("quoted local part", form("email", `"evil@evil.example"@example.com`), 400, ""),
		sub("IP literal domain", form("email", "x@[127.0.0.1]"), 400, ""),
		sub("IDN domain to punycode", form("email", "ida@Bücher.example", "ts", "{ts}", "topics", "posts"), 200, checkMail, "ida@xn--bcher-kva.example"),
		sub("invalid IDN domain", form("email", "x@exa mple.com"), 400, ""),
		{name: "CR/LF and Bcc in the name", method: "POST", path: "/subscribe",
			form: form("email", "eve@example.com", "name", "Eve\r\nBcc: evil@evil.example\x07", "ts", "{ts}", "topics", "posts"),
			code: 200, page: checkMail, sent: []string{"eve@example.com"},
			check: func(t *testing.T, e *env) {
				if got := e.strings(`SELECT name FROM subscribers WHERE email = 'eve@example.com'`); !cmp.Equal(got, []string{"Eve Bcc: evil@evil.example"}) {
					t.Errorf("stored name = %q", got)
				}
			}},
		sub("a name of 10,000 characters", form("email", "long@example.com", "name", strings.Repeat("n", 10000)), 200, checkMail, "long@example.com"),
		sub("bad UTF-8 in the name", form("email", "utf@example.com", "name", "\xff\xfeAnn"), 400, "couldn't read"),
		sub("bad UTF-8 in the address", form("email", "ann\xc3@example.com"), 400, ""),
		sub("unknown topic", form("email", "topic@example.com", "topics", "admin"), 400, ""),
		sub("no topic on the hosted form", form("email", "none@example.com", "ts", "{ts}"), 400, "at least one"),
		sub("filled honeypot", form("email", "hp@example.com", "website", "http://spam.example", "ts", "{ts}", "topics", "posts"), 200, checkMail),
		sub("instant submit", form("email", "fast@example.com", "ts", "{tsnow}", "topics", "posts"), 200, checkMail),
		sub("forged stamp", form("email", "forged@example.com", "ts", "99.AAAAAAAAAAAAAAAAAAAAAA", "topics", "posts"), 200, checkMail),
		sub("stranger subscribes an active person with other topics", form("email", "victim@example.com", "topics", "news"), 200, checkMail, "victim@example.com"),
		sub("subscribe once", form("email", "rep@example.com"), 200, checkMail, "rep@example.com"),
		sub("repeated subscribe: the same page, no second email", form("email", "REP@example.com"), 200, checkMail),
		sub("bounced address", form("email", "bounced@example.com"), 200, checkMail),
		sub("return_to on another origin", form("email", "ret@example.com", "return_to", crossSite+"/phish"), 200, checkMail, "ret@example.com"),
		sub("return_to javascript:", form("email", "js@example.com", "return_to", "javascript:alert(1)"), 200, checkMail, "js@example.com"),
		sub("address only in the query string", nil, 400, ""),
		{name: "form from an origin not allowed", method: "POST", path: "/subscribe", form: form("email", "csrf@example.com"),
			header: []string{"Origin", crossSite, "Sec-Fetch-Site", "cross-site"}, code: 403, page: "Not allowed"},
		{name: "1 MB form body", method: "POST", path: "/subscribe", raw: "email=big@example.com&name=" + megabyte, ctype: formType, code: 413, page: "too much"},
		{name: "1 MB form body, no length", method: "POST", path: "/subscribe", raw: "chunked", ctype: formType, code: 413},
		js("1 MB JSON body", `{"email":"big@example.com","name":"`+megabyte+`"}`, 413),
		{name: "1 MB multipart body", method: "POST", path: "/subscribe", raw: "multipart", code: 413},
		{name: "a file in a multipart form", method: "POST", path: "/subscribe", raw: "file", code: 400},
		{name: "text/plain", method: "POST", path: "/subscribe", ctype: "text/plain", raw: "email=tp@example.com", code: 415},
		{name: "no content type", method: "POST", path: "/subscribe", raw: "email=nct@example.com", code: 415},
		{name: "XML", method: "POST", path: "/subscribe", ctype: "application/xml", raw: "<email>x@example.com</email>", code: 415},
		js("JSON array where a string belongs", `{"email":["a@example.com","evil@evil.example"]}`, 400),
		js("JSON string where an array belongs", `{"email":"ta@example.com","topics":"posts"}`, 400),
		js("JSON top-level array", `[{"email":"arr@example.com"}]`, 400),
		js("malformed JSON", `{"email":"mal@example.com"`, 400),
		js("JSON followed by more", `{"email":"one@example.com"}{"email":"evil@evil.example"}`, 400),
		js("bad UTF-8 in JSON", "{\"email\":\"j\xffs@example.com\"}", 400),
		js("JSON time zone path", `{"email":"tz@example.com","time_zone":"../../../etc/passwd"}`, 400),
		js("JSON Bcc header in the address", `{"email":"a@example.com\r\nBcc: evil@evil.example"}`, 400),
		js("JSON honeypot", `{"email":"jhp@example.com","website":"x"}`, 202),
		js("JSON number for the address", `{"email":42}`, 400),
		{name: "confirm: forged token", method: "GET", path: "/confirm/{forged}", code: 404, page: badLink},
		{name: "confirm: expired token", method: "GET", path: "/confirm/{expired}", code: 404, page: badLink},
		{name: "confirm: truncated token", method: "GET", path: "/confirm/{truncated}", code: 400, page: cut},
		{name: "confirm: unsubscribe token", method: "GET", path: "/confirm/{unsub}", code: 404, page: badLink},
		{name: "confirm: no token", method: "GET", path: "/confirm/", code: 404},
		{name: "unsubscribe: a GET changes nothing", method: "GET", path: "/unsubscribe/{unsub}", code: 200, page: "Nothing changes until you do"},
		{name: "unsubscribe: preferences token", method: "GET", path: "/unsubscribe/{prefs}", code: 404, page: badLink},
		{name: "unsubscribe: forged token", method: "POST", path: "/unsubscribe/{forged}", form: oneClick, code: 404, page: badLink},
		{name: "unsubscribe: truncated token", method: "POST", path: "/unsubscribe/{truncated}", form: oneClick, code: 400, page: cut},
		{name: "unsubscribe: wrong characters", method: "POST", path: "/unsubscribe/{badchars}", form: oneClick, code: 400, page: cut},
		{name: "unsubscribe: token too long", method: "GET", path: "/unsubscribe/{unsub}A", code: 400, page: cut},
		{name: "unsubscribe: wrong body", method: "POST", path: "/unsubscribe/{unsub}", form: form("List-Unsubscribe", "Yes"), code: 400},
		{name: "unsubscribe: JSON body", method: "POST", path: "/unsubscribe/{unsub}", ctype: jsonType, raw: `{"List-Unsubscribe":"One-Click"}`, code: 415},
		{name: "unsubscribe: 1 MB body", method: "POST", path: "/unsubscribe/{unsub}", raw: "List-Unsubscribe=One-Click&x=" + megabyte, ctype: formType, code: 413},
		{name: "unsubscribe: from another site", method: "POST", path: "/unsubscribe/{unsub}", form: oneClick,
			header: []string{"Origin", crossSite, "Sec-Fetch-Site", "cross-site"}, code: 403},
		{name: "unsubscribe: an unknown person", method: "POST", path: "/unsubscribe/{unknown}", form: oneClick, code: 200, page: "unsubscribed"},
		{name: "preferences: unknown action", method: "POST", path: "/preferences/{prefs}", form: form("action", "drop-table"), code: 400},
		{name: "preferences: unknown topic", method: "POST", path: "/preferences/{prefs}", form: form("action", "save", "topics", "admin"), code: 400},
		{name: "preferences: forged token", method: "POST", path: "/preferences/{forged}", form: form("action", "leave"), code: 404, page: badLink},
		{name: "preferences: unsubscribe token", method: "GET", path: "/preferences/{unsub}", code: 404, page: badLink},
		{name: "preferences: from another site", method: "POST", path: "/preferences/{prefs}", form: form("action", "leave"),
			header: []string{"Origin", crossSite, "Sec-Fetch-Site", "cross-site"}, code: 403},
		{name: "preferences: NUL in the token", method: "GET", path: "/preferences/%00{truncated}", code: 400},
		{name: "preferences: erase without confirming", method: "POST", path: "/preferences/{prefs}", form: form("action", "erase"), code: 200, page: "Yes, delete everything"},
	}
}

// TestHostileInputs sends each hostile or broken request to a server with
// an active, a pending, an unsubscribed and a bounced person: each answer
// is the expected 4xx or documented page (never a 5xx), the ledger gains
// only rows for the address the request itself signed up, and nobody's
// status or topics change.
func TestHostileInputs(t *testing.T) {
	cases := hostileCases()
	if len(cases) < 40 {
		t.Fatalf("%d cases, want at least 40", len(cases))
	}
	eachEngine(t, func(t *testing.T, e *env) {
		victim := e.add("victim@example.com", store.StatusActive, "posts", "news")
		pending := e.add("pending@example.com", store.StatusPending)
		e.add("gone@example.com", store.StatusUnsubscribed)
		e.add("bounced@example.com", store.StatusBounced)
		tokens := e.hostileTokens(victim, pending)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before, ledger := e.statuses(), e.recipients()
				r := e.sendHostile(tc, tokens)
				if r.code != tc.code || r.code >= 500 || !strings.Contains(r.body, tc.page) {
					t.Errorf("%s %s = %d, want %d with %q:\n%.600s", tc.method, tc.path, r.code, tc.code, tc.page, r.body)
				}
				added := slices.DeleteFunc(e.recipients(), func(s string) bool { return slices.Contains(ledger, s) })
				if !cmp.Equal(added, tc.sent, cmpEmpty) {
					t.Errorf("ledger gained %q, want %q", added, tc.sent)
				}
				after := e.statuses()
				for addr, was := range before {
					if after[addr] != was {
						t.Errorf("%s went from %s to %s", addr, was, after[addr])
					}
				}
				for addr := range maps.Keys(after) {
					if _, ok := before[addr]; !ok && !slices.Contains(tc.sent, addr) {
						t.Errorf("a subscriber %s appeared", addr)
					}
				}
				if tc.check != nil {
					tc.check(t, e)
				}
			})
		}
		// Nothing logged would let a log reader act as a person or learn
		// who signed up.
		logged := e.logs.String()
		for name, tok := range tokens {
			if len(tok) >= 20 && strings.Contains(logged, tok) {
				t.Errorf("the log holds the %s token", name)
			}
		}
		if strings.Contains(logged, "@") {
			t.Errorf("the log holds an address:\n%s", logged)
		}
	})
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

// hostileTokens makes the tokens the cases name.
func (e *env) hostileTokens(victim, pending int64) map[string]string {
	other, err := links.NewSigner("http://practice.test", []byte("another key, not the server's"), e.clock.Now)
	if err != nil {
		e.t.Fatal(err)
	}
	weekAgo, err := links.NewSigner("http://practice.test", []byte(testKey), func() time.Time { return e.clock.Now().Add(-8 * 24 * time.Hour) })
	if err != nil {
		e.t.Fatal(err)
	}
	unsub := e.links.Token(links.Unsubscribe, victim)
	return map[string]string{
		"{unsub}":     unsub,
		"{prefs}":     e.links.Token(links.Preferences, victim),
		"{confirm}":   e.links.Token(links.Confirm, pending),
		"{forged}":    other.Token(links.Unsubscribe, victim),
		"{expired}":   weekAgo.Token(links.Confirm, pending),
		"{truncated}": unsub[:links.TokenLen-1],
		"{badchars}":  strings.Repeat("~", links.TokenLen),
		"{unknown}":   e.links.Token(links.Unsubscribe, 987654),
	}
}

// sendHostile fills in tc's placeholders and sends it.
func (e *env) sendHostile(tc hostile, tokens map[string]string) response {
	e.t.Helper()
	stamp := e.srv.stamp()
	e.clock.Add(5 * time.Second)
	fill := func(s string) string {
		s = strings.ReplaceAll(s, "{ts}", stamp)
		s = strings.ReplaceAll(s, "{tsnow}", e.srv.stamp())
		for k, v := range tokens {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	ctype, body := tc.ctype, fill(tc.raw)
	switch {
	case tc.form != nil:
		v := url.Values{}
		for k, vs := range tc.form {
			for _, x := range vs {
				v.Add(k, fill(x))
			}
		}
		ctype, body = formType, v.Encode()
	case tc.raw == "multipart" || tc.raw == "file":
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("email", "mp@example.com")
		if tc.raw == "file" {
			fw, _ := mw.CreateFormFile("upload", "x.txt")
			fw.Write([]byte("hello"))
		} else {
			mw.WriteField("name", megabyte)
		}
		mw.Close()
		ctype, body = mw.FormDataContentType(), b.String()
	case tc.raw == "chunked":
		return e.chunked(tc.path, ctype, "email=big@example.com&name="+megabyte)
	}
	path := fill(tc.path)
	if tc.name == "address only in the query string" {
		path += "?email=query@example.com"
		ctype = formType
	}
	return e.do(tc.method, path, ctype, body, tc.header...)
}
