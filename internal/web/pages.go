package web

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/practicemail/practicemail/templates"
)

// message is the title and text of a page that only says something.
type message struct {
	title string
	text  []string
	link  *templates.Link
}

var (
	msgCheckEmail = message{title: "Check your email", text: []string{
		"If the address is right, an email is on its way to it. Open it and follow the link to confirm; nothing else will come until you do.",
		"If nothing arrives within a few minutes, look in your spam or promotions folder.",
	}}
	msgConfirmed = message{title: "You're subscribed", text: []string{
		"Thank you for confirming. New posts will reach you by email; every email has a link to change what you get or to leave.",
	}}
	msgAlreadyConfirmed = message{title: "Already confirmed", text: []string{
		"You had confirmed already: there is nothing more to do.",
	}}
	msgUnsubscribed = message{title: "You're unsubscribed", text: []string{
		"You will get no more email from us. If you change your mind, you can sign up again at any time.",
	}}
	msgSequenceStopped = message{title: "You're unsubscribed", text: []string{
		"You will get no more follow-up emails from us. Writing to the practice again still reaches it.",
	}}
	msgSaved = message{title: "Your choices are saved", text: []string{
		"From now on you will get only what you chose.",
	}}
	msgErased = message{title: "Everything is deleted", text: []string{
		"Your address, your name, your choices and the history of what we sent you are gone. We keep only a one-way code so that nothing reaches this address again unless you sign up anew.",
	}}
	msgBadLink = message{title: "This link doesn't work", text: []string{
		"The link may be incomplete, or it may have expired: confirmation links last seven days.",
		"If you copied it from an email, check that you copied all of it. To sign up again, use the form.",
	}, link: &templates.Link{URL: "/subscribe", Text: "Go to the sign-up form"}}
	msgMalformedLink = message{title: "This link is incomplete", text: []string{
		"Part of the link seems to be missing or changed. If you copied it from an email, check that you copied all of it.",
	}}
	msgNotFound = message{title: "Page not found", text: []string{
		"There is no page at this address.",
	}, link: &templates.Link{URL: "/subscribe", Text: "Go to the sign-up form"}}
	msgTooLarge = message{title: "That was too much", text: []string{
		"The form sent more than we accept. Please go back and shorten what you wrote.",
	}}
	msgBadRequest = message{title: "We couldn't read that", text: []string{
		"The request was not in a form we understand. Please go back and try again.",
	}}
	msgUnsupported = message{title: "We couldn't read that", text: []string{
		"The form was sent in a format we do not accept.",
	}}
	msgForbidden = message{title: "Not allowed from there", text: []string{
		"This form was sent from a page that is not allowed to send it here.",
	}}
	msgUnavailable = message{title: "Please try again shortly", text: []string{
		"Something went wrong on our side and nothing was changed. Please try again in a few minutes.",
	}}
)

// page renders m as a message page with status code.
func (s *Server) page(w http.ResponseWriter, r *http.Request, code int, m message) {
	s.render(w, code, templates.PageMessage, templates.Page{Title: m.title, Paragraphs: m.text, Link: m.link})
}

// tooMany answers 429 with Retry-After and a page saying when to try again.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := retryAfterSeconds(wait)
	if wantsJSON(r) {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "too many requests", "retry_after": secs})
		return
	}
	when := "in a minute"
	if secs > 90 {
		when = fmt.Sprintf("in about %d minutes", (secs+59)/60)
	}
	s.page(w, r, http.StatusTooManyRequests, message{title: "Too many tries", text: []string{
		"We received many requests from you in a short time. Please wait and try again " + when + ".",
	}})
}

// render writes the page called name with status code, filling in the
// practice.
func (s *Server) render(w http.ResponseWriter, code int, name string, p templates.Page) {
	p.Practice, p.PostalAddress = s.Practice.Name, s.Practice.PostalAddress
	if p.Practice == "" {
		p.Practice = "Sign-up"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if s.Pages == nil { // servers built without pages (health-only tests)
		w.WriteHeader(code)
		fmt.Fprintf(w, "<!doctype html><title>%d</title>", code)
		return
	}
	// Pages renders into a buffer, so a failure still leaves the status
	// unwritten; it is a bug in a template, which New's checks make rare.
	var buf bytes.Buffer
	if err := s.Pages.Render(&buf, name, p); err != nil {
		s.logger().Error("page_render_failed", "page", name, "error", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func (s *Server) stylesheet(w http.ResponseWriter, r *http.Request) {
	if s.Pages == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(s.Pages.CSS())
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, http.StatusNotFound, msgNotFound)
}
