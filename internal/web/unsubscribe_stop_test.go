package web

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/store"
)

// The List-Unsubscribe link of a sequence email (a links.StopSequence
// token, a contact id) is served by /unsubscribe/{token}: the GET page
// changes nothing, the one-click POST stops that contact's sequence and
// marks them unsubscribed, nobody else's, and no subscriber who happens to
// have the same id.
func TestUnsubscribeStopsSequence(t *testing.T) {
	eachInquiryEngine(t, func(t *testing.T, e *env, q *inquiryQueue) {
		e.enrolled(jordan, other)
		sub := e.add("reader@example.com", store.StatusActive, "posts")
		id, err := strconv.ParseInt(e.strings(`SELECT id FROM contacts WHERE email = '` + jordan + `'`)[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		tok := e.links.Token(links.StopSequence, id)
		if !strings.HasPrefix(e.links.URL(links.StopSequence, tok), "http://practice.test/unsubscribe/") {
			t.Fatalf("URL = %s", e.links.URL(links.StopSequence, tok))
		}
		oneClick := form("List-Unsubscribe", "One-Click")
		if r := e.get("/unsubscribe/" + tok); r.code != 200 || !strings.Contains(r.body, "Nothing changes until you do") {
			t.Fatalf("GET = %d:\n%s", r.code, r.body)
		}
		want := map[string]string{jordan: "active", other: "active"}
		if diff := cmp.Diff(want, e.states()); diff != "" {
			t.Fatalf("a GET changed enrollments:\n%s", diff)
		}
		for range 2 { // the second click changes nothing more
			if r := e.postForm("/unsubscribe/"+tok, oneClick); r.code != 200 || !strings.Contains(r.body, "no more follow-up emails") {
				t.Fatalf("POST = %d:\n%s", r.code, r.body)
			}
		}
		want[jordan] = "stopped"
		if diff := cmp.Diff(want, e.states()); diff != "" {
			t.Errorf("enrollments (-want +got):\n%s", diff)
		}
		if got := e.strings(`SELECT status FROM contacts WHERE email = '` + jordan + `'`); !cmp.Equal(got, []string{store.ContactUnsubscribed}) {
			t.Errorf("status = %v", got)
		}
		if s := e.subscriber(sub); s.Status != store.StatusActive {
			t.Errorf("the subscriber went %s", s.Status)
		}
		for _, tc := range []struct {
			name, method, path string
			code               int
		}{
			{"unknown contact", "POST", "/unsubscribe/" + e.links.Token(links.StopSequence, 987654), 200},
			{"a stop token is no preferences token", "GET", "/preferences/" + tok, 404},
			{"a stop token confirms nothing", "GET", "/confirm/" + tok, 404},
		} {
			var r response
			if tc.method == "POST" {
				r = e.postForm(tc.path, oneClick)
			} else {
				r = e.get(tc.path)
			}
			if r.code != tc.code {
				t.Errorf("%s: %d, want %d", tc.name, r.code, tc.code)
			}
		}
		if l := e.logs.String(); strings.Contains(l, tok) || !strings.Contains(l, "contact_unsubscribed") {
			t.Errorf("the log holds the token, or says nothing:\n%s", l)
		}
	})
}
