package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/practicemail/practicemail/internal/ratelimit"
)

// Rules are the rate limits of the public pages.
type Rules struct {
	SubscribeIP    ratelimit.Rule // POST /subscribe per client address
	SubscribeEmail ratelimit.Rule // POST /subscribe per address signed up (hashed)
	TokenIP        ratelimit.Rule // confirm, unsubscribe and preferences links that fail, per client address
	InquiryIP      ratelimit.Rule // POST /inquiries per client address
	InquiryEmail   ratelimit.Rule // POST /inquiries per address written from (hashed)
	AdminIP        ratelimit.Rule // the admin routes per client address, right password or not
}

// DefaultRules are generous to a person and tight for a script: a family
// behind one address signing up together passes, a list being fed in does
// not, and one inbox gets at most a few sign-up requests an hour (the store
// also sends at most one email per store.ResendAfter).
var DefaultRules = Rules{
	SubscribeIP:    ratelimit.Rule{Name: "subscribe-ip", Limit: 10, Per: time.Minute},
	SubscribeEmail: ratelimit.Rule{Name: "subscribe-email", Limit: 5, Per: time.Hour},
	TokenIP:        ratelimit.Rule{Name: "token-ip", Limit: 60, Per: time.Minute},
	InquiryIP:      ratelimit.Rule{Name: "inquiry-ip", Limit: 5, Per: time.Minute},
	InquiryEmail:   ratelimit.Rule{Name: "inquiry-email", Limit: 5, Per: time.Hour},
	// A Prometheus scraping every 5 s uses 12 a minute.
	AdminIP: ratelimit.Rule{Name: "admin-ip", Limit: 30, Per: time.Minute},
}

// rules is s.Rules with each rule left zero taken from DefaultRules.
func (s *Server) rules() Rules {
	r, d := s.Rules, DefaultRules
	for _, f := range []struct{ rule, def *ratelimit.Rule }{
		{&r.SubscribeIP, &d.SubscribeIP}, {&r.SubscribeEmail, &d.SubscribeEmail}, {&r.TokenIP, &d.TokenIP},
		{&r.InquiryIP, &d.InquiryIP}, {&r.InquiryEmail, &d.InquiryEmail}, {&r.AdminIP, &d.AdminIP},
	} {
		if *f.rule == (ratelimit.Rule{}) {
			*f.rule = *f.def
		}
	}
	return r
}

// allow counts one request under rule for key and, when over the limit,
// answers 429 and returns false. Without a Limiter everything passes; when
// Redis fails the request passes too (fail open, logged): a sign-up still
// meets the store's own resend limit, and a reader must be able to leave
// while Redis is down.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, rule ratelimit.Rule, key string) bool {
	return s.allowOr(w, r, s.tooMany, ratelimit.Check{Rule: rule, Key: key})
}

// allowEach is allow for several rules at once, in one round trip: the
// request counts under all of them or, refused by any, under none.
func (s *Server) allowEach(w http.ResponseWriter, r *http.Request, checks ...ratelimit.Check) bool {
	return s.allowOr(w, r, s.tooMany, checks...)
}

// allowOr is allowEach with its own answer over the limit: over is called
// with the wait, and Retry-After is set before it.
func (s *Server) allowOr(w http.ResponseWriter, r *http.Request,
	over func(w http.ResponseWriter, r *http.Request, wait time.Duration), checks ...ratelimit.Check) bool {
	if s.Limiter == nil {
		return true
	}
	ok, wait, err := s.Limiter.AllowEach(r.Context(), checks...)
	if err != nil {
		s.logger().Warn("rate_limit_unavailable", "error", err)
		return true
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		over(w, r, wait)
		return false
	}
	return true
}

// retryAfterSeconds is wait in whole seconds, rounded up, at least one.
func retryAfterSeconds(wait time.Duration) int {
	return max(int((wait+time.Second-1)/time.Second), 1)
}

// emailKey is the key an address is counted under: a keyed hash, so Redis
// never holds the address.
func (s *Server) emailKey(address string) string {
	m := hmac.New(sha256.New, append([]byte("practicemail rate limit\x00"), s.FormKey...))
	m.Write([]byte(address))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
