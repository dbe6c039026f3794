package web

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hostileInquiry is one hostile or broken POST /inquiries. In form values
// and raw, {ts} is a stamp of a form served a while ago, {tsnow} one
// served just now.
type hostileInquiry struct {
	name   string
	form   url.Values
	ctype  string // with raw
	raw    string
	header []string
	code   int
	page   string   // text the answer must contain
	saved  []string // the addresses whose inquiry the request may add
	check  func(t *testing.T, e *env)
}

// inquiryOf is a valid hosted-form inquiry with kv changed ("" deletes).
func inquiryOf(kv ...string) url.Values {
	v := form("name", "Sam", "email", "sam@example.com", "message", "I would like to talk.", "consent", "yes",
		"time_zone", "America/Denver", "ts", "{ts}")
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
			continue
		}
		v.Set(kv[i], kv[i+1])
	}
	return v
}

const received = "Thank you for writing"

func hostileInquiries() []hostileInquiry {
	f := func(name string, v url.Values, code int, page string, saved ...string) hostileInquiry {
		return hostileInquiry{name: name, form: v, code: code, page: page, saved: saved}
	}
	js := func(name, body string, code int, page string, saved ...string) hostileInquiry {
		return hostileInquiry{name: name, ctype: jsonType, raw: body, code: code, page: page, saved: saved}
	}
	long := strings.Repeat("word ", maxMessage/5) + "x"
	return []hostileInquiry{
		f("a plain inquiry", inquiryOf("email", "plain@example.com"), 202, received, "plain@example.com"),
		f("a message of exactly 10,000 characters", inquiryOf("email", "full@example.com", "message", strings.Repeat("é", maxMessage)), 202, received, "full@example.com"),
		f("overlong message", inquiryOf("email", "long@example.com", "message", long), 400, "10,000 characters"),
		js("overlong message in JSON", `{"name":"A","email":"long@example.com","message":"`+long+`"}`, 400, "10,000 characters"),
		f("empty message", inquiryOf("email", "empty@example.com", "message", " \r\n "), 400, "a few words"),
		f("NUL in the message", inquiryOf("email", "nul@example.com", "message", "hi\x00there"), 400, "cannot keep"),
		f("bad UTF-8 in the message", inquiryOf("email", "utf@example.com", "message", "\xff\xfe"), 400, "couldn't read"),
		{name: "CR/LF and Bcc in the name", form: inquiryOf("email", "crlf@example.com", "name", "Eve\r\nBcc: evil@evil.example\x07"),
			code: 202, page: received, saved: []string{"crlf@example.com"},
			check: func(t *testing.T, e *env) {
				if got := e.strings(`SELECT name FROM contacts WHERE email = 'crlf@example.com'`); !cmp.Equal(got, []string{"Eve Bcc: evil@evil.example"}) {
					t.Errorf("stored name = %q", got)
				}
			}},
		f("no name", inquiryOf("email", "anon@example.com", "name", ""), 400, "your name"),
		f("CR/LF and Bcc in the address", inquiryOf("email", "sam@example.com\r\nBcc: evil@evil.example"), 400, ""),
		f("two addresses", inquiryOf("email", "sam@example.com, evil@evil.example"), 400, "characters an email address cannot have"),
		f("CR/LF in the phone", inquiryOf("email", "ph@example.com", "phone", "555\r\nBcc: x@evil.example"), 400, "phone number"),
		f("letters for a phone", inquiryOf("email", "ph2@example.com", "phone", "call me maybe"), 400, "phone number"),
		f("bad zone", inquiryOf("email", "tz@example.com", "time_zone", "Mars/Olympus_Mons"), 400, "Unknown time zone"),
		f("zone as a path", inquiryOf("email", "tz2@example.com", "time_zone", "../../../etc/passwd"), 400, "Unknown time zone"),
		f("zone Local", inquiryOf("email", "tz3@example.com", "time_zone", "Local"), 400, "Unknown time zone"),
		js("bad zone in JSON", `{"name":"A","email":"tz4@example.com","message":"hi","time_zone":"Europe/Atlantis"}`, 400, "time_zone"),
		{name: "missing consent: taken, no follow-ups", form: inquiryOf("email", "noconsent@example.com", "consent", ""),
			code: 202, page: received, saved: []string{"noconsent@example.com"},
			check: func(t *testing.T, e *env) {
				if got := e.strings(`SELECT CAST(consent AS TEXT) FROM contacts WHERE email = 'noconsent@example.com'`); len(got) != 1 || (got[0] != "0" && got[0] != "false") {
					t.Errorf("consent stored = %q, want no", got)
				}
			}},
		f("overlong preferred time", inquiryOf("email", "pt@example.com", "preferred_time", strings.Repeat("p", 201)), 400, "short line"),
		f("filled honeypot", inquiryOf("email", "hp@example.com", "website", "http://spam.example"), 202, received),
		f("instant submit", inquiryOf("email", "fast@example.com", "ts", "{tsnow}"), 202, received),
		f("forged stamp", inquiryOf("email", "forged@example.com", "ts", "99.AAAAAAAAAAAAAAAAAAAAAA"), 202, received),
		js("JSON honeypot", `{"name":"A","email":"jhp@example.com","message":"hi","website":"x"}`, 202, `"status":"received"`),
		js("JSON array for the message", `{"name":"A","email":"arr@example.com","message":["a","b"]}`, 400, ""),
		js("JSON string for consent", `{"name":"A","email":"cs@example.com","message":"hi","consent":"yes"}`, 400, ""),
		js("JSON object for the name", `{"name":{"first":"A"},"email":"obj@example.com","message":"hi"}`, 400, ""),
		js("JSON top-level array", `[{"name":"A","email":"top@example.com","message":"hi"}]`, 400, ""),
		js("JSON followed by more", `{"name":"A","email":"one@example.com","message":"hi"}{}`, 400, ""),
		js("bad UTF-8 in JSON", "{\"name\":\"A\",\"email\":\"j@example.com\",\"message\":\"\xff\"}", 400, ""),
		{name: "1 MB form body", ctype: formType, raw: "email=big@example.com&message=" + megabyte, code: 413, page: "too much"},
		{name: "200 KB message, over the inquiry cap", ctype: formType, raw: "email=big@example.com&name=A&message=" + strings.Repeat("m", 200<<10), code: 413},
		js("1 MB JSON body", `{"name":"A","email":"bigj@example.com","message":"`+megabyte+`"}`, 413, ""),
		{name: "text/plain", ctype: "text/plain", raw: "email=tp@example.com", code: 415},
		{name: "form from an origin not allowed", form: inquiryOf("email", "csrf@example.com"),
			header: []string{"Origin", crossSite, "Sec-Fetch-Site", "cross-site"}, code: 403, page: "Not allowed"},
		{name: "snippet on the practice's own site", form: inquiryOf("email", "snip@example.com", "ts", ""),
			header: []string{"Origin", "https://stillpoint.example", "Sec-Fetch-Site", "cross-site"}, code: 202, page: received,
			saved: []string{"snip@example.com"}},
	}
}

// TestInquiryHostileInputs sends each hostile or broken inquiry: each
// answer is the expected status and page (never a 5xx), only the request's
// own valid inquiry is saved, and no log line holds an address or a
// message.
func TestInquiryHostileInputs(t *testing.T) {
	eachInquiryEngine(t, func(t *testing.T, e *env, q *inquiryQueue) {
		for _, tc := range hostileInquiries() {
			t.Run(tc.name, func(t *testing.T) {
				before := len(e.inquiries())
				r := e.sendInquiry(tc)
				if r.code != tc.code || !strings.Contains(r.body, tc.page) {
					t.Errorf("POST = %d, want %d with %q:\n%.600s", r.code, tc.code, tc.page, r.body)
				}
				var added []string
				for _, s := range e.inquiries()[:len(e.inquiries())-before] {
					added = append(added, s.Email)
				}
				if !slices.Equal(added, tc.saved) {
					t.Errorf("inquiries added: %q, want %q", added, tc.saved)
				}
				if tc.check != nil {
					tc.check(t, e)
				}
			})
		}
		logged := e.logs.String()
		if strings.Contains(logged, "@") || strings.Contains(logged, "talk") || strings.Contains(logged, "word word") {
			t.Errorf("the log holds an address or a message:\n%s", logged)
		}
		if n, err := e.db.ListInquiries(context.Background(), 0); err != nil || len(n) != len(q.queued()) {
			t.Errorf("%d inquiries, %d queued (%v)", len(n), len(q.queued()), err)
		}
	})
}

// sendInquiry fills in tc's stamps and sends it.
func (e *env) sendInquiry(tc hostileInquiry) response {
	e.t.Helper()
	stamp := e.srv.stamp()
	e.clock.Add(30 * 1e9)
	fill := func(s string) string {
		s = strings.ReplaceAll(s, "{ts}", stamp)
		return strings.ReplaceAll(s, "{tsnow}", e.srv.stamp())
	}
	ctype, body := tc.ctype, tc.raw
	if tc.form != nil {
		v := url.Values{}
		for k, vs := range tc.form {
			for _, x := range vs {
				v.Add(k, fill(x))
			}
		}
		ctype, body = formType, v.Encode()
	}
	return e.do("POST", "/inquiries", ctype, body, tc.header...)
}
