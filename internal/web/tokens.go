package web

import (
	"errors"
	"net/http"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// subscriberFrom checks the request's {token} for purpose p and returns the
// subscriber id it carries. Otherwise it answers (400 for a token of the
// wrong shape, 404 for one that does not verify, 429 once a client has sent
// too many of those) and returns false. Nothing about a token is logged:
// it is the person's key.
//
// Only failures count against a client. A genuine token is never refused
// for the rate: one-click unsubscribes reach us from a mail provider's few
// addresses on behalf of all its users, and a refused one is a reader who
// asked to leave and is mailed again. A forger's guesses are what is
// counted, though with 128 bits of MAC the count is courtesy, not defence.
func (s *Server) subscriberFrom(w http.ResponseWriter, r *http.Request, p links.Purpose) (int64, bool) {
	tok := r.PathValue("token")
	code, msg := http.StatusBadRequest, msgMalformedLink
	if wellFormed(tok) {
		id, err := s.Links.Verify(p, tok)
		if err == nil {
			return id, true
		}
		code, msg = http.StatusNotFound, msgBadLink
	}
	if s.allow(w, r, s.rules().TokenIP, s.clientAddr(r).String()) {
		s.page(w, r, code, msg)
	}
	return 0, false
}

// wellFormed reports whether tok has a token's length and alphabet.
func wellFormed(tok string) bool {
	if len(tok) != links.TokenLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// confirm activates a pending subscriber: the click is their consent.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	id, ok := s.subscriberFrom(w, r, links.Confirm)
	if !ok {
		return
	}
	res, err := s.DB.ConfirmSubscriber(r.Context(), id)
	if err != nil {
		s.logger().Error("confirm_failed", "subscriber_id", id, "error", err)
		s.unavailable(w, r)
		return
	}
	switch res {
	case store.Confirmed:
		s.logger().Info("subscriber_confirmed", "subscriber_id", id)
		s.page(w, r, http.StatusOK, msgConfirmed)
	case store.AlreadyConfirmed:
		s.page(w, r, http.StatusOK, msgAlreadyConfirmed)
	default: // gone: the same page as a link that never worked
		s.page(w, r, http.StatusNotFound, msgBadLink)
	}
}

// unsubscriber is who an /unsubscribe/{token} link names: a subscriber
// (links.Unsubscribe), or a contact of a follow-up sequence
// (links.StopSequence: the List-Unsubscribe of sequence emails).
type unsubscriber struct {
	id      int64
	contact bool
}

// unsubscriberFrom checks the request's {token} for either purpose. A
// token of neither is answered as subscriberFrom answers it.
func (s *Server) unsubscriberFrom(w http.ResponseWriter, r *http.Request) (unsubscriber, bool) {
	if tok := r.PathValue("token"); wellFormed(tok) {
		if id, err := s.Links.Verify(links.StopSequence, tok); err == nil {
			return unsubscriber{id: id, contact: true}, true
		}
	}
	id, ok := s.subscriberFrom(w, r, links.Unsubscribe)
	return unsubscriber{id: id}, ok
}

// unsubscribePage shows the button. It changes nothing: mail scanners and
// link previews follow every link in an email.
func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.unsubscriberFrom(w, r); !ok {
		return
	}
	s.render(w, http.StatusOK, templates.PageUnsubscribe, templates.Page{
		Title:  "Unsubscribe",
		Action: "/unsubscribe/" + r.PathValue("token"),
	})
}

// unsubscribe is RFC 8058 one-click, from a mail provider's button or from
// the page's: the body says List-Unsubscribe=One-Click (urlencoded or
// multipart). The subscriber is unsubscribed, or the contact's sequences
// stopped for good, before the answer, which is 200 with no cookie and no
// redirect. Someone already gone (erased) gets the same answer: there is
// nothing left to send them.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	who, ok := s.unsubscriberFrom(w, r)
	if !ok {
		return
	}
	if code := oneClick(r); code != 0 {
		s.unreadable(w, r, code)
		return
	}
	if who.contact {
		s.stopContact(w, r, who.id)
		return
	}
	if err := s.DB.Unsubscribe(r.Context(), who.id); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.logger().Error("unsubscribe_failed", "subscriber_id", who.id, "error", err)
		s.unavailable(w, r)
		return
	}
	s.logger().Info("subscriber_unsubscribed", "subscriber_id", who.id, "one_click", r.Header.Get("Origin") == "")
	s.page(w, r, http.StatusOK, msgUnsubscribed)
}

// stopContact stops contact id's sequences and marks them unmailable for
// sequences (status unsubscribed).
func (s *Server) stopContact(w http.ResponseWriter, r *http.Request, id int64) {
	n, err := s.DB.StopContact(r.Context(), id, store.ContactUnsubscribed)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.logger().Error("stop_contact_failed", "contact_id", id, "error", err)
		s.unavailable(w, r)
		return
	}
	s.logger().Info("contact_unsubscribed", "contact_id", id, "stopped", n, "one_click", r.Header.Get("Origin") == "")
	s.page(w, r, http.StatusOK, msgSequenceStopped)
}

// oneClick returns 0 when r's body is an RFC 8058 one-click request, else
// the status to answer.
func oneClick(r *http.Request) int {
	mt := mediaType(r)
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return http.StatusUnsupportedMediaType
	}
	if err := parseForm(r, mt); err != nil {
		return bodyStatus(err)
	}
	if r.PostForm.Get("List-Unsubscribe") != "One-Click" {
		return http.StatusBadRequest
	}
	return 0
}
