package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/store"
)

// site is `practicemail run` serving its public pages on a real port that
// is also its base_url, so that the links in its emails open in a browser
// and its same-origin checks see the origin the browser sends.
type site struct {
	*harness
	base    string // http://127.0.0.1:PORT, base_url and where it listens
	witness string // an active subscriber of posts: a post reached everyone once it reached them
}

type siteOptions struct {
	engine         string   // sqlite (default) or postgres
	allowedOrigins []string // http.allowed_origins
}

// newSite starts the whole program with one post already on the blog
// (baselined, never sent) and one witness subscriber.
func newSite(t *testing.T, o siteOptions) *site {
	t.Helper()
	h := newHarness(t, harnessOptions{engine: o.engine, items: []item{postItem(1)}, holdOver: 3})
	s := &site{harness: h, base: "http://" + freeAddr(t)}
	httpSection := "http:\n  addr: " + strings.TrimPrefix(s.base, "http://") + "\n"
	if len(o.allowedOrigins) > 0 {
		httpSection += fmt.Sprintf("  allowed_origins: [%s]\n", strings.Join(o.allowedOrigins, ", "))
	}
	h.config = h.variant("site.yaml",
		"base_url: https://mail.stillpoint.example", "base_url: "+s.base,
		"http:\n  addr: 127.0.0.1:0\n", httpSection)
	s.witness = h.addSubscribers("witness", 1, store.StatusActive)[0]
	h.start()
	h.waitFor("the first poll", 20*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	return s
}

// freeAddr is a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// publish puts posts 1..n on the blog and waits until post n has reached
// the witness and its fan-out is over, so that whoever else should have
// it has it too.
func (s *site) publish(n int) item {
	s.t.Helper()
	var items []item
	for i := 1; i <= n; i++ {
		items = append(items, postItem(i))
	}
	s.feed.set(items...)
	it := postItem(n)
	s.waitMail(s.witness, it.Title, 30*time.Second)
	s.waitFor("post "+fmt.Sprint(n)+" sent", 30*time.Second, func() bool { return s.posts()[store.PostSent] == int64(n-1) })
	s.waitFor("no delivery open", 30*time.Second, func() bool {
		d := s.deliveries()
		return d[store.DeliveryQueued] == 0 && d[store.DeliverySending] == 0
	})
	return it
}

// mailTo is every message the SMTP server got for address whose Subject
// contains subject.
func (s *site) mailTo(address, subject string) []mailtest.Parsed {
	s.t.Helper()
	var out []mailtest.Parsed
	for _, m := range s.smtp.Messages() {
		if slices.Contains(m.To, address) && strings.Contains(m.Header.Get("Subject"), subject) {
			out = append(out, mailtest.Parse(s.t, m.Data))
		}
	}
	return out
}

// waitMail waits for a message to address with subject in its Subject,
// and returns the first.
func (s *site) waitMail(address, subject string, timeout time.Duration) mailtest.Parsed {
	s.t.Helper()
	s.waitFor(fmt.Sprintf("a message to %s about %q", address, subject), timeout, func() bool {
		return len(s.mailTo(address, subject)) > 0
	})
	return s.mailTo(address, subject)[0]
}

// allMailTo is every message the SMTP server got for address.
func (s *site) allMailTo(address string) []mailtest.Parsed { return s.mailTo(address, "") }

// link is the first URL of this site's in a message's text part whose path
// starts with /purpose/.
func (s *site) link(p mailtest.Parsed, purpose string) string {
	s.t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(s.base+"/"+purpose+"/") + `[A-Za-z0-9_-]+`)
	u := re.FindString(p.TextPart)
	if u == "" {
		u = re.FindString(p.HTMLPart)
	}
	if u == "" {
		s.t.Fatalf("no %s link to %s in the message:\n%s", purpose, s.base, p.TextPart)
	}
	return u
}

// listUnsubscribe is the https or http URL of a message's List-Unsubscribe
// header, checked to come with RFC 8058's List-Unsubscribe-Post.
func (s *site) listUnsubscribe(p mailtest.Parsed) string {
	s.t.Helper()
	lu, lup := p.Header.Get("List-Unsubscribe"), p.Header.Get("List-Unsubscribe-Post")
	if lup != "List-Unsubscribe=One-Click" {
		s.t.Fatalf("List-Unsubscribe-Post = %q, want List-Unsubscribe=One-Click", lup)
	}
	for _, part := range strings.Split(lu, ",") {
		u := strings.Trim(strings.TrimSpace(part), "<>")
		if strings.HasPrefix(u, s.base+"/unsubscribe/") {
			return u
		}
	}
	s.t.Fatalf("List-Unsubscribe %q has no URL of %s", lu, s.base)
	return ""
}

// subscriber is the person with this address as the store has them.
func (h *harness) subscriber(address string) *store.Subscriber {
	h.t.Helper()
	sub, err := h.db.SubscriberByEmail(context.Background(), address)
	if err != nil {
		h.t.Fatalf("subscriber %s: %v", address, err)
	}
	return sub
}

// absent reports whether the store holds nobody with this address.
func (h *harness) absent(address string) bool {
	h.t.Helper()
	_, err := h.db.SubscriberByEmail(context.Background(), address)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.t.Fatal(err)
	}
	return errors.Is(err, store.ErrNotFound)
}

// oneClick is what Gmail does when its Unsubscribe button is pressed (RFC
// 8058): a POST of List-Unsubscribe=One-Click to the header's URL, no
// cookies, no redirects followed.
func oneClick(t *testing.T, url string) *http.Response {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Post(url, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatalf("one-click POST: %v", err)
	}
	resp.Body.Close()
	return resp
}
