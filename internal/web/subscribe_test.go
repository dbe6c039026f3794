package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
)

func TestSubscribeFormQueuesOneConfirmation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		form := e.get("/subscribe")
		for _, want := range []string{`<label for="email">`, `name="website"`, `name="ts"`, `<html lang="en">`, "Stillpoint Counseling"} {
			if !strings.Contains(form.body, want) {
				t.Errorf("form lacks %s", want)
			}
		}
		r := e.signup("Ann@Example.COM")
		if r.code != 200 || !strings.Contains(r.body, "Check your email") {
			t.Fatalf("POST /subscribe = %d:\n%s", r.code, r.body)
		}
		if diff := cmp.Diff([]string{"ann@example.com"}, e.recipients()); diff != "" {
			t.Errorf("ledger recipients (-want +got):\n%s", diff)
		}
		if e.queue.len() != 1 || e.queue.batches[0].Kind != store.KindConfirm {
			t.Errorf("enqueued %+v, want one confirm batch", e.queue.batches)
		}
		if got := e.statuses()["ann@example.com"]; got != "pending/posts" {
			t.Errorf("status = %q, want pending/posts", got)
		}
		if got := e.strings(`SELECT source FROM signups`); !cmp.Equal(got, []string{"form"}) {
			t.Errorf("signup sources = %q, want [form]", got)
		}
		// The same answer for an address already active; the store sends an
		// "already subscribed" email instead.
		e.add("bo@example.com", store.StatusActive)
		again := e.signup("bo@example.com")
		if again.code != r.code || again.body != r.body {
			t.Errorf("answer for a known address differs: %d\n%s", again.code, again.body)
		}
	})
}

func TestSubscribeJSONAndCORS(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		pre := e.do("OPTIONS", "/subscribe", "", "", "Origin", "https://stillpoint.example", "Access-Control-Request-Method", "POST")
		if pre.code != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://stillpoint.example" {
			t.Errorf("preflight from an allowed origin = %d %v", pre.code, pre.header)
		}
		bad := e.do("OPTIONS", "/subscribe", "", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		if bad.code != 403 || bad.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from another origin = %d %v", bad.code, bad.header)
		}
		r := e.do("POST", "/subscribe", "application/json", `{"email":"cy@example.com","name":"Cy","topics":["news"],"time_zone":"America/Denver"}`,
			"Origin", "https://stillpoint.example", "Sec-Fetch-Site", "cross-site")
		if r.code != 202 || r.header.Get("Access-Control-Allow-Origin") != "https://stillpoint.example" {
			t.Fatalf("JSON sign-up = %d %v %s", r.code, r.header, r.body)
		}
		if got := e.statuses()["cy@example.com"]; got != "pending/news" {
			t.Errorf("status = %q, want pending/news", got)
		}
		refused := e.do("POST", "/subscribe", "application/json", `{"email":"dee@example.com"}`,
			"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		if refused.code != 403 {
			t.Errorf("JSON from another origin = %d, want 403", refused.code)
		}
		if diff := cmp.Diff([]string{"cy@example.com"}, e.recipients()); diff != "" {
			t.Errorf("ledger recipients (-want +got):\n%s", diff)
		}
	})
}

func TestSubscribeSnippetOnAnotherSite(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		v := url.Values{"email": {"di@example.com"}, "return_to": {"https://stillpoint.example/thanks"}}
		r := e.postForm("/subscribe", v, "Origin", "https://stillpoint.example", "Sec-Fetch-Site", "cross-site")
		if r.code != 303 || r.header.Get("Location") != "https://stillpoint.example/thanks" {
			t.Fatalf("snippet from an allowed origin = %d %v", r.code, r.header)
		}
		if got := e.strings(`SELECT source || ' ' || page_url FROM signups`); !cmp.Equal(got, []string{"snippet https://stillpoint.example/thanks"}) {
			t.Errorf("signups = %q", got)
		}
		// return_to elsewhere is not followed: no open redirect.
		v = url.Values{"email": {"ed@example.com"}, "return_to": {"https://evil.example/"}}
		r = e.postForm("/subscribe", v, "Origin", "https://stillpoint.example", "Sec-Fetch-Site", "cross-site")
		if r.code != 200 || r.header.Get("Location") != "" {
			t.Errorf("return_to on another origin = %d %v", r.code, r.header)
		}
		// A form on a site not listed is refused.
		v = url.Values{"email": {"fi@example.com"}}
		r = e.postForm("/subscribe", v, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		if r.code != 403 || !strings.Contains(r.body, "Not allowed") {
			t.Errorf("snippet from another origin = %d:\n%s", r.code, r.body)
		}
		if diff := cmp.Diff([]string{"di@example.com", "ed@example.com"}, e.recipients()); diff != "" {
			t.Errorf("ledger recipients (-want +got):\n%s", diff)
		}
	})
}

func TestSubscribeBotsAnsweredLikeSuccess(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ok := e.signup("real@example.com")
		stamp := e.formStamp()
		for name, v := range map[string]url.Values{
			"honeypot":       {"email": {"hp@example.com"}, "website": {"http://spam.example"}, "ts": {stamp}},
			"instant submit": {"email": {"fast@example.com"}, "ts": {e.srv.stamp()}},
			"forged stamp":   {"email": {"forged@example.com"}, "ts": {"1.AAAA"}},
		} {
			r := e.postForm("/subscribe", v)
			if r.code != ok.code || r.body != ok.body {
				t.Errorf("%s: %d\n%s\nwant the success page", name, r.code, r.body)
			}
		}
		if diff := cmp.Diff([]string{"real@example.com"}, e.recipients()); diff != "" {
			t.Errorf("ledger recipients (-want +got):\n%s", diff)
		}
	})
}

func TestSubscribeInvalidShowsTheFormAgain(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.postForm("/subscribe", url.Values{"email": {"not an address"}, "name": {"Gus"}, "topics": {"posts"}, "ts": {e.formStamp()}})
		if r.code != 400 || !strings.Contains(r.body, `aria-invalid="true"`) || !strings.Contains(r.body, `value="Gus"`) {
			t.Errorf("invalid address = %d:\n%s", r.code, r.body)
		}
		r = e.do("POST", "/subscribe", "application/json", `{"email":"x@"}`)
		if r.code != 400 || !strings.Contains(r.body, `"email"`) {
			t.Errorf("invalid JSON address = %d %s", r.code, r.body)
		}
		if got := e.recipients(); len(got) != 0 {
			t.Errorf("ledger has %q", got)
		}
	})
}

func TestCheckAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Ann@Example.com", "ann@example.com"},
		{" ann@example.com ", "ann@example.com"},
		{"ann@bücher.example", "ann@xn--bcher-kva.example"},
		{"ann@BÜCHER.example", "ann@xn--bcher-kva.example"},
		{"a.b+tag@sub.example.org", "a.b+tag@sub.example.org"},
		{"ann@example.com.", "ann@example.com"},
		{"", ""}, {"ann", ""}, {"ann@", ""}, {"@example.com", ""}, {"ann@example", ""},
		{"ann@@example.com", ""}, {"a..b@example.com", ""}, {".a@example.com", ""},
		{"Ann <ann@example.com>", ""}, {"ann@example.com, bob@example.com", ""},
		{"ann@example.com\r\nBcc: x@evil.example", ""}, {"ann\n@example.com", ""},
		{`"a b"@example.com`, ""}, {"ann@1.2.3.4", ""}, {"ann@[127.0.0.1]", ""},
		{"ann@-bad.example", ""}, {"ännа@example.com", ""},
		{strings.Repeat("a", 65) + "@example.com", ""},
		{strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com"},
		{"aaaaa@" + strings.Repeat("b", 61) + "." + strings.Repeat("c", 61) + "." + strings.Repeat("d", 61) + "." + strings.Repeat("e", 61) + ".com", ""}, // 257 > 254
	} {
		got, msg := checkAddress(tc.in)
		if got != tc.want || (tc.want == "") != (msg != "") {
			t.Errorf("checkAddress(%q) = %q, %q; want %q", tc.in, got, msg, tc.want)
		}
	}
}
