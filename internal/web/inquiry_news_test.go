package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Hearing of openings and news (campaigns to inquirers:unbooked) is its own
// question, apart from the follow-up emails: the form asks it with its own
// box, JSON with "news", and each answer is stored as given.
func TestInquiryNewsConsentIsItsOwnAnswer(t *testing.T) {
	eachInquiryEngine(t, func(t *testing.T, e *env, q *inquiryQueue) {
		if page := e.get("/inquiries"); !strings.Contains(page.body, `name="news"`) {
			t.Fatal("the form does not ask about news")
		}
		r := e.postForm("/inquiries", url.Values{"name": {"Robin"}, "email": {"robin@example.com"},
			"message": {"Do you have openings?"}, "news": {"yes"}, "ts": {e.inquiryStamp()}})
		if r.code != http.StatusAccepted {
			t.Fatalf("POST = %d:\n%s", r.code, r.body)
		}
		body := `{"name":"Asha","email":"asha@example.in","message":"Hello","consent":true,"news":false}`
		if r := e.do("POST", "/inquiries", jsonType, body); r.code != http.StatusAccepted {
			t.Fatalf("POST = %d %s", r.code, r.body)
		}
		got := e.strings(`SELECT email || ':' || consent || ':' || news_consent FROM contacts ORDER BY email`)
		if strings.Join(got, " ") != "asha@example.in:1:0 robin@example.com:0:1" {
			t.Fatalf("contacts (email:follow-ups:news) = %v", got)
		}
	})
}
