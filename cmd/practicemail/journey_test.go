package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/browsertest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// TestJourneySubscribeConfirmAndLeaveWithGmailsButton is a reader's whole
// life on the list, in headless Chromium at 360 px: the hosted form, the
// one confirmation email, its link, the next post, and Gmail's one-click
// Unsubscribe on the List-Unsubscribe URL of that real post email, after
// which the following post does not reach them. A GET of that URL (a mail
// scanner's) changes nothing. On each SQL engine.
func TestJourneySubscribeConfirmAndLeaveWithGmailsButton(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { testJourneyGmail(t, engine) })
	}
}

func testJourneyGmail(t *testing.T, engine string) {
	s := newSite(t, siteOptions{engine: engine})
	b := browsertest.New(t, browsertest.Options{})
	const ada = "ada@example.com"

	s.subscribeInBrowser(b, ada, "Ada Lovelace", []string{store.TopicPosts})
	s.confirmInBrowser(b, ada)

	post := s.publish(2)
	got := s.mailTo(ada, post.Title)
	if len(got) != 1 {
		t.Fatalf("%s got post 2 %d times, want once", ada, len(got))
	}
	unsub := s.listUnsubscribe(got[0])

	// A mail scanner, or the person, opens the link: a page with a button,
	// nothing changed.
	if code := b.Navigate("unsubscribe-link-opened", unsub); code != http.StatusOK {
		t.Fatalf("GET %s: status %d", unsub, code)
	}
	if n := browsertest.Eval[int](b, `document.querySelectorAll("form[method=post] button").length`); n == 0 {
		t.Fatalf("the unsubscribe page has no button:\n%s", b.Text("body"))
	}
	if st := s.subscriber(ada).Status; st != store.StatusActive {
		t.Fatalf("after a GET of the unsubscribe URL the status is %s, want active (GET must change nothing)", st)
	}

	// Gmail's button: effective before the answer, 200, no cookie.
	resp := oneClick(t, unsub)
	if resp.StatusCode != http.StatusOK || len(resp.Header.Values("Set-Cookie")) > 0 {
		t.Fatalf("one-click POST: status %d, Set-Cookie %q; want 200 and none", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	if st := s.subscriber(ada).Status; st != store.StatusUnsubscribed {
		t.Fatalf("right after the one-click answer the status is %s, want unsubscribed", st)
	}
	if code := b.Navigate("unsubscribe-link-after-one-click", unsub); code != http.StatusOK {
		t.Fatalf("GET %s after unsubscribing: status %d", unsub, code)
	}

	next := s.publish(3)
	if n := len(s.mailTo(ada, next.Title)); n != 0 {
		t.Fatalf("post 3 reached %s %d time(s) after one-click unsubscribe", ada, n)
	}
	s.checkOnlyConfirmAndPost(ada, post.Title)
}

// TestJourneyPreferencesKeepNewsDropPosts is the same life through the
// preferences page (opened from the post email's own link), with the
// browser's scripts off: posts switched off, news kept; the next post does
// not reach them and they are still on the list for news. On each SQL
// engine.
func TestJourneyPreferencesKeepNewsDropPosts(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { testJourneyPreferences(t, engine) })
	}
}

func testJourneyPreferences(t *testing.T, engine string) {
	s := newSite(t, siteOptions{engine: engine})
	b := browsertest.New(t, browsertest.Options{NoJavaScript: true})
	const grace = "grace@example.com"

	s.subscribeInBrowser(b, grace, "Grace Hopper", []string{store.TopicPosts, store.TopicNews})
	s.confirmInBrowser(b, grace)
	if d := cmp.Diff([]string{store.TopicNews, store.TopicPosts}, slices.Sorted(slices.Values(s.subscriber(grace).Topics))); d != "" {
		t.Fatalf("topics after confirming (-want +got):\n%s", d)
	}

	post := s.publish(2)
	got := s.mailTo(grace, post.Title)
	if len(got) != 1 {
		t.Fatalf("%s got post 2 %d times, want once", grace, len(got))
	}
	prefs := s.link(got[0], "preferences")
	if code := b.Navigate("preferences-opened", prefs); code != http.StatusOK {
		t.Fatalf("GET %s: status %d", prefs, code)
	}
	setChecked(b, "topic-posts", false)
	setChecked(b, "topic-news", true)
	b.Shot("posts-switched-off")
	resp := b.Submit("preferences-saved", chromedp.Click(chromedp.CSS(`button[value=save]`)))
	if resp.Status != http.StatusOK {
		t.Fatalf("saving preferences: status %d\n%s", resp.Status, b.Text("body"))
	}
	sub := s.subscriber(grace)
	if sub.Status != store.StatusActive || !cmp.Equal(sub.Topics, []string{store.TopicNews}) {
		t.Fatalf("after saving: status %s, topics %v; want active on news only", sub.Status, sub.Topics)
	}
	eligible, err := s.db.Eligible(context.Background(), store.TopicNews, []int64{sub.ID})
	if err != nil || len(eligible) != 1 {
		t.Fatalf("news eligibility after dropping posts: %v, %v; want them still on news", eligible, err)
	}

	next := s.publish(3)
	if n := len(s.mailTo(grace, next.Title)); n != 0 {
		t.Fatalf("post 3 reached %s %d time(s) after switching posts off", grace, n)
	}
	s.checkOnlyConfirmAndPost(grace, post.Title)
}

// subscribeInBrowser fills in the hosted form at 360 px and submits it at
// a person's pace, and waits for the one confirmation email.
func (s *site) subscribeInBrowser(b *browsertest.Browser, email, name string, topics []string) {
	s.t.Helper()
	served := s.openForm(b, "subscribe-form", "/subscribe")
	b.Do("filled-in",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#name"), name))
	for _, topic := range []string{store.TopicPosts, store.TopicNews} {
		setChecked(b, "topic-"+topic, slices.Contains(topics, topic))
	}
	takeTime(served)
	resp := b.Submit("submitted", chromedp.Click(chromedp.CSS(`form[action="/subscribe"] button[type=submit]`)))
	if resp.Status != http.StatusOK || !strings.Contains(strings.ToLower(b.Text("body")), "email") {
		s.t.Fatalf("after submitting: status %d, page:\n%s", resp.Status, b.Text("body"))
	}
	s.waitMail(email, "", 30*time.Second)
}

// confirmInBrowser opens the link of the one confirmation email.
func (s *site) confirmInBrowser(b *browsertest.Browser, email string) {
	s.t.Helper()
	msgs := s.allMailTo(email)
	if len(msgs) != 1 {
		s.t.Fatalf("%s got %d messages after signing up, want one confirmation", email, len(msgs))
	}
	if lu := msgs[0].Header.Get("List-Unsubscribe"); lu != "" {
		s.t.Fatalf("the confirmation email carries List-Unsubscribe %q", lu)
	}
	link := s.link(msgs[0], "confirm")
	if code := b.Navigate("confirmed", link); code != http.StatusOK {
		s.t.Fatalf("GET the confirmation link: status %d", code)
	}
	if page := strings.ToLower(b.Text("main, body")); !strings.Contains(page, "confirm") || !strings.Contains(page, "subscribed") {
		s.t.Fatalf("the confirmation page does not say that the subscription is confirmed:\n%s", page)
	}
	if st := s.subscriber(email).Status; st != store.StatusActive {
		s.t.Fatalf("after confirming the status is %s, want active", st)
	}
}

// checkOnlyConfirmAndPost checks that the person got exactly two
// messages: the confirmation and the one post.
func (s *site) checkOnlyConfirmAndPost(email, postTitle string) {
	s.t.Helper()
	all := s.allMailTo(email)
	var subjects []string
	for _, m := range all {
		subjects = append(subjects, m.Header.Get("Subject"))
	}
	if len(all) != 2 || !strings.Contains(subjects[1], postTitle) {
		s.t.Fatalf("%s got %q; want the confirmation, then %q", email, subjects, postTitle)
	}
}

// setChecked sets the checkbox with this id as a person would: a click
// when it is not as wanted.
func setChecked(b *browsertest.Browser, id string, want bool) {
	if browsertest.Eval[bool](b, `document.getElementById("`+id+`").checked`) != want {
		b.Do("click-"+id, chromedp.Click(chromedp.ID(id)))
	}
}
