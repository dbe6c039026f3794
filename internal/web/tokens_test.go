package web

import (
	"bytes"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/store"
)

func TestConfirm(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.signup("ann@example.com")
		id := e.add("ann@example.com", store.StatusPending)
		path := "/confirm/" + e.links.Token(links.Confirm, id)
		r := e.get(path)
		if r.code != 200 || !strings.Contains(r.body, "You're subscribed") {
			t.Fatalf("confirm = %d:\n%s", r.code, r.body)
		}
		if s := e.subscriber(id); s.Status != store.StatusActive || s.ConsentSource != "form" {
			t.Errorf("after confirming: status %s, consent source %q; want active, form", s.Status, s.ConsentSource)
		}
		if r := e.get(path); r.code != 200 || !strings.Contains(r.body, "Already confirmed") {
			t.Errorf("second click = %d:\n%s", r.code, r.body)
		}
		// A week and a day later the link has expired: the friendly 404.
		late := e.links.Token(links.Confirm, e.add("bo@example.com", store.StatusPending))
		e.clock.Add(links.ConfirmTTL + 24*time.Hour)
		if r := e.get("/confirm/" + late); r.code != 404 || !strings.Contains(r.body, "This link doesn't work") {
			t.Errorf("expired link = %d:\n%s", r.code, r.body)
		}
		if got := e.statuses()["bo@example.com"]; got != "pending/posts" {
			t.Errorf("expired link changed bo: %s", got)
		}
	})
}

func TestUnsubscribe(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		id := e.add("ann@example.com", store.StatusActive, "posts", "news")
		path := "/unsubscribe/" + e.links.Token(links.Unsubscribe, id)
		// GET, as a mail scanner would, shows a button and changes nothing.
		page := e.get(path)
		if page.code != 200 || !strings.Contains(page.body, `<form method="post" action="`+path+`">`) || !strings.Contains(page.body, `name="List-Unsubscribe" value="One-Click"`) {
			t.Fatalf("GET %s = %d:\n%s", path, page.code, page.body)
		}
		if s := e.subscriber(id); s.Status != store.StatusActive {
			t.Fatalf("GET unsubscribed: %s", s.Status)
		}
		// RFC 8058, as Gmail sends it: no Origin, no cookie.
		r := e.do("POST", path, formType, "List-Unsubscribe=One-Click")
		if r.code != 200 || r.header.Get("Set-Cookie") != "" || r.header.Get("Location") != "" {
			t.Fatalf("one-click = %d %v", r.code, r.header)
		}
		if s := e.subscriber(id); s.Status != store.StatusUnsubscribed {
			t.Errorf("after one-click: %s", s.Status)
		}
		// Again, multipart, from the page's own button: still 200.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("List-Unsubscribe", "One-Click")
		mw.Close()
		r = e.do("POST", path, mw.FormDataContentType(), body.String(), "Origin", e.url, "Sec-Fetch-Site", "same-origin")
		if r.code != 200 || !strings.Contains(r.body, "You're unsubscribed") {
			t.Errorf("multipart one-click again = %d:\n%s", r.code, r.body)
		}
		// Another site cannot make a browser unsubscribe someone.
		other := e.add("bo@example.com", store.StatusActive)
		r = e.do("POST", "/unsubscribe/"+e.links.Token(links.Unsubscribe, other), formType, "List-Unsubscribe=One-Click",
			"Origin", "https://stillpoint.example", "Sec-Fetch-Site", "cross-site")
		if r.code != 403 || e.subscriber(other).Status != store.StatusActive {
			t.Errorf("cross-site one-click = %d, bo %s", r.code, e.subscriber(other).Status)
		}
	})
}

func TestPreferences(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		id := e.add("ann@example.com", store.StatusActive, "posts", "news")
		path := "/preferences/" + e.links.Token(links.Preferences, id)
		page := e.get(path)
		if page.code != 200 || strings.Count(page.body, " checked") != 2 {
			t.Fatalf("GET %s = %d:\n%s", path, page.code, page.body)
		}
		same := []string{"Origin", e.url, "Sec-Fetch-Site", "same-origin"}
		if r := e.postForm(path, url.Values{"action": {"save"}, "topics": {"news"}}, same...); r.code != 200 {
			t.Fatalf("save = %d:\n%s", r.code, r.body)
		}
		if got := e.statuses()["ann@example.com"]; got != "active/news" {
			t.Errorf("after switching posts off: %s", got)
		}
		if r := e.postForm(path, url.Values{"action": {"save"}, "topics": {"bogus"}}, same...); r.code != 400 {
			t.Errorf("unknown topic = %d", r.code)
		}
		if r := e.postForm(path, url.Values{"action": {"leave"}}, same...); r.code != 200 || !strings.Contains(r.body, "You're unsubscribed") {
			t.Errorf("leave = %d:\n%s", r.code, r.body)
		}
		if got := e.statuses()["ann@example.com"]; got != "unsubscribed/news" {
			t.Errorf("after leaving: %s", got)
		}
		// Having left, saving topics does not bring them back.
		if r := e.postForm(path, url.Values{"action": {"save"}, "topics": {"posts"}}, same...); r.code != 409 {
			t.Errorf("save after leaving = %d", r.code)
		}
		if got := e.statuses()["ann@example.com"]; got != "unsubscribed/news" {
			t.Errorf("save after leaving changed: %s", got)
		}
	})
}

func TestPreferencesErase(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		id := e.add("ann@example.com", store.StatusActive)
		path := "/preferences/" + e.links.Token(links.Preferences, id)
		same := []string{"Origin", e.url, "Sec-Fetch-Site", "same-origin"}
		ask := e.postForm(path, url.Values{"action": {"erase"}}, same...)
		if ask.code != 200 || !strings.Contains(ask.body, `value="erase-confirmed"`) {
			t.Fatalf("erase asks = %d:\n%s", ask.code, ask.body)
		}
		if _, err := e.db.SubscriberByID(t.Context(), id); err != nil {
			t.Fatalf("the first step erased already: %v", err)
		}
		if r := e.postForm(path, url.Values{"action": {"erase-confirmed"}}, same...); r.code != 200 || !strings.Contains(r.body, "Everything is deleted") {
			t.Fatalf("erase = %d:\n%s", r.code, r.body)
		}
		if got := e.strings(`SELECT email FROM subscribers`); len(got) != 1 || strings.Contains(got[0], "ann") {
			t.Errorf("subscribers after erasure: %q", got)
		}
		if r := e.get(path); r.code != 404 {
			t.Errorf("the page after erasure = %d, want 404", r.code)
		}
	})
}
