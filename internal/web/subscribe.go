package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// maxReturnTo is the longest return_to followed.
const maxReturnTo = 2048

// subscribeForm serves the hosted sign-up form.
func (s *Server) subscribeForm(w http.ResponseWriter, r *http.Request) {
	f := signupForm{Topics: []string{store.TopicPosts}, ReturnTo: r.URL.Query().Get("return_to")}
	s.showForm(w, r, http.StatusOK, f, nil)
}

// showForm renders the sign-up form with what the person typed and what is
// wrong with it.
func (s *Server) showForm(w http.ResponseWriter, r *http.Request, code int, f signupForm, errs map[string]string) {
	w.Header().Set("Content-Security-Policy", s.signupCSP())
	returnTo := ""
	if s.returnTo(f.ReturnTo) != "" {
		returnTo = f.ReturnTo
	}
	s.render(w, code, templates.PageSubscribe, templates.Page{
		Title:    "Subscribe by email",
		Form:     templates.SignupFields{Email: f.Email, Name: f.Name},
		Errors:   errs,
		Topics:   topicChoices(f.Topics),
		Stamp:    s.stamp(),
		ReturnTo: returnTo,
	})
}

// topicLabels are the topics as the pages name them.
var topicLabels = []templates.TopicChoice{
	{Value: store.TopicPosts, Label: "New posts from the blog"},
	{Value: store.TopicNews, Label: "News from the practice, such as new openings"},
}

func topicChoices(checked []string) []templates.TopicChoice {
	out := make([]templates.TopicChoice, len(topicLabels))
	for i, t := range topicLabels {
		t.Checked = contains(checked, t.Value)
		out[i] = t
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// subscribe takes a sign-up. Whatever becomes of it (a confirmation, an
// "already subscribed" email, nothing because it came too soon again or
// the address bounced, nothing because a bot sent it) the answer is the
// same, so the form tells nobody who is on the list.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		s.cors(w, r)
	}
	// Every request counts against its client's address; one that gets as
	// far as a valid address also against that address, in the same round
	// trip to Redis, and refused by either it counts against neither. The
	// body is read first, at most maxBody.
	byClient := ratelimit.Check{Rule: s.rules().SubscribeIP, Key: s.clientAddr(r).String()}
	f, err := readSignup(r)
	if err != nil {
		if s.allowEach(w, r, byClient) {
			s.unreadable(w, r, bodyStatus(err))
		}
		return
	}
	if f.Website != "" || s.stampSaysBot(f.Stamp) {
		if s.allowEach(w, r, byClient) {
			s.logger().Info("signup_dropped_as_bot", "honeypot", f.Website != "", "source", f.source)
			s.accepted(w, r, f)
		}
		return
	}
	if errs := f.Validate(); errs != nil {
		if s.allowEach(w, r, byClient) {
			s.invalid(w, r, f, errs)
		}
		return
	}
	if !s.allowEach(w, r, byClient, ratelimit.Check{Rule: s.rules().SubscribeEmail, Key: s.emailKey(f.address)}) {
		return
	}
	if err := s.signup(r, f); err != nil {
		s.logger().Error("signup_failed", "error", redact(err, f.address))
		s.unavailable(w, r)
		return
	}
	s.accepted(w, r, f)
}

// signup records the request and queues the email it calls for. A failed
// enqueue is only logged: the row is queued in SQL, and the reconciler
// enqueues what Redis lacks.
func (s *Server) signup(r *http.Request, f signupForm) error {
	req := store.SignupRequest{Email: f.address, Name: f.Name, Topics: f.Topics, TimeZone: f.TimeZone,
		Source: f.source, PageURL: s.pageURL(r, f)}
	if s.RecordIP {
		req.IP = s.clientAddr(r).String()
	}
	res, err := s.DB.RequestSignup(r.Context(), req)
	if err != nil {
		return err
	}
	if res.Batch.Batch != 0 && s.Queue != nil {
		if err := s.Queue.EnqueueDelivery(r.Context(), res.Batch); err != nil {
			s.logger().Warn("signup_enqueue_failed", "kind", res.Batch.Kind, "source_id", res.Batch.SourceID, "error", err)
		}
	}
	return nil
}

// accepted answers a sign-up taken (or quietly dropped): JSON 202, a 303 to
// an allowed return_to, or the "check your email" page.
func (s *Server) accepted(w http.ResponseWriter, r *http.Request, f signupForm) {
	if f.source == sourceJSON {
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "check_your_email"})
		return
	}
	if to := s.returnTo(f.ReturnTo); to != "" {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	s.page(w, r, http.StatusOK, msgCheckEmail)
}

// invalid answers a sign-up with fields at fault: 400, the form again with
// what to fix, or JSON naming the fields.
func (s *Server) invalid(w http.ResponseWriter, r *http.Request, f signupForm, errs map[string]string) {
	if f.source == sourceJSON {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid", "fields": errs})
		return
	}
	if len(f.Email) > maxAddress*2 {
		f.Email = "" // not worth showing back
	}
	s.showForm(w, r, http.StatusBadRequest, f, errs)
}

// unreadable answers a body that could not be read.
func (s *Server) unreadable(w http.ResponseWriter, r *http.Request, code int) {
	if wantsJSON(r) {
		writeJSON(w, code, map[string]string{"error": http.StatusText(code)})
		return
	}
	m := msgBadRequest
	switch code {
	case http.StatusRequestEntityTooLarge:
		m = msgTooLarge
	case http.StatusUnsupportedMediaType:
		m = msgUnsupported
	}
	s.page(w, r, code, m)
}

func (s *Server) unavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "60")
	if wantsJSON(r) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "try again later"})
		return
	}
	s.page(w, r, http.StatusServiceUnavailable, msgUnavailable)
}

// returnTo returns raw if it is an absolute http(s) URL on an allowed
// origin, else "": a return_to anywhere else would make this server an
// open redirect.
func (s *Server) returnTo(raw string) string {
	if raw == "" || len(raw) > maxReturnTo {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	if !s.allowedOrigin(u.Scheme + "://" + u.Host) {
		return ""
	}
	return u.String()
}

// pageURL is the page the form was on, as far as we can tell without
// trusting anything but the allowed origins.
func (s *Server) pageURL(r *http.Request, f signupForm) string {
	switch {
	case f.source == sourceForm:
		return strings.TrimRight(s.Practice.BaseURL, "/") + "/subscribe"
	case s.returnTo(f.ReturnTo) != "":
		return s.returnTo(f.ReturnTo)
	case s.returnTo(r.Referer()) != "":
		return s.returnTo(r.Referer())
	case s.allowedOrigin(r.Header.Get("Origin")):
		return r.Header.Get("Origin")
	}
	return ""
}

// redact removes the address from err's text: a log reader must not learn
// who signed up.
func redact(err error, address string) string {
	if address == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), address, "<address>")
}
