package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// findPerson is POST /admin/person: the subscriber with the address typed
// on the admin page, with what unsubscribing or erasing them would do. A
// POST, so that the address stays out of URLs, and so out of proxies' logs.
func (s *Server) findPerson(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.unreadable(w, r, bodyStatus(err))
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	say := func(code int, text string) {
		s.render(w, code, templates.PageAdminPerson, templates.Page{Title: "Someone on the list", Paragraphs: []string{text}})
	}
	if email == "" || len(email) > maxAddress {
		say(http.StatusBadRequest, "Type the address the person subscribed with.")
		return
	}
	p, err := s.DB.ExportPerson(r.Context(), email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		erased, err := s.DB.IsErased(r.Context(), email, s.EraseKey)
		if err != nil {
			s.logger().Error("admin_find_person_failed", "error", err)
			s.unavailable(w, r)
			return
		}
		if erased {
			say(http.StatusOK, "That address was erased: nothing is held but a keyed hash of it, which keeps it from being mailed unless they subscribe anew and confirm.")
			return
		}
		say(http.StatusOK, "No one on the list has that address. (Check it for a typing mistake; an inquiry's sender is found with practicemail inquiries list.)")
		return
	case errors.Is(err, store.ErrInvalidEmail):
		say(http.StatusBadRequest, "That is not an email address. Type the address the person subscribed with.")
		return
	case err != nil:
		s.logger().Error("admin_find_person_failed", "error", err)
		s.unavailable(w, r)
		return
	}
	zone := zoneOf(s.Practice.TimeZone)
	consent := p.ConsentSource
	if p.ConsentPage != "" {
		consent += ", " + p.ConsentPage
	}
	if !p.ConfirmedAt.IsZero() {
		consent += ", confirmed " + stamp(p.ConfirmedAt.In(zone))
	}
	view := templates.AdminPerson{ID: strconv.FormatInt(p.ID, 10), Email: p.Email, Name: p.Name, Status: p.Status,
		Topics: strings.Join(p.Topics, ", "), Since: stamp(p.CreatedAt.In(zone)), Consent: consent, Emails: len(p.Deliveries),
		Mailable: p.Status == store.StatusActive || p.Status == store.StatusPending}
	s.render(w, http.StatusOK, templates.PageAdminPerson, templates.Page{Title: "Someone on the list", Person: &view})
}

// unsubscribePerson is POST /admin/person/unsubscribe: the subscriber id
// gets nothing more from the list, as after their own unsubscribe.
func (s *Server) unsubscribePerson(w http.ResponseWriter, r *http.Request) {
	id, ok := s.personID(w, r)
	if !ok {
		return
	}
	if err := s.DB.Unsubscribe(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		s.personGone(w, r)
		return
	} else if err != nil {
		s.logger().Error("admin_unsubscribe_failed", "error", err)
		s.unavailable(w, r)
		return
	}
	s.logger().Info("admin_unsubscribed", "subscriber_id", id)
	http.Redirect(w, r, "/admin/?unsubscribed=1", http.StatusSeeOther)
}

// erasePerson is POST /admin/person/erase: everything held about the
// subscriber id goes but a keyed hash of the address, as `subscribers
// erase` does; only with the form's confirm box ticked.
func (s *Server) erasePerson(w http.ResponseWriter, r *http.Request) {
	id, ok := s.personID(w, r)
	if !ok {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		s.page(w, r, http.StatusBadRequest, message{title: "Nothing was erased", text: []string{
			"Tick the box that says yes, erase, then press the button again. Nothing was changed."},
			link: &templates.Link{URL: "/admin/", Text: "Back to the admin page"}})
		return
	}
	if err := s.DB.EraseSubscriberID(r.Context(), id, s.EraseKey); errors.Is(err, store.ErrNotFound) {
		s.personGone(w, r)
		return
	} else if err != nil {
		s.logger().Error("admin_erase_failed", "error", err)
		s.unavailable(w, r)
		return
	}
	s.logger().Info("admin_erased", "subscriber_id", id)
	http.Redirect(w, r, "/admin/?erased=1", http.StatusSeeOther)
}

// personID reads the form's subscriber id, answering 400 for a bad one.
func (s *Server) personID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	if err := r.ParseForm(); err != nil {
		s.unreadable(w, r, bodyStatus(err))
		return 0, false
	}
	id, err := strconv.ParseInt(r.PostForm.Get("id"), 10, 64)
	if err != nil || id <= 0 {
		s.page(w, r, http.StatusBadRequest, message{title: "Nothing was changed", text: []string{
			"The form did not name anyone. Find the person again on the admin page."},
			link: &templates.Link{URL: "/admin/", Text: "Back to the admin page"}})
		return 0, false
	}
	return id, true
}

func (s *Server) personGone(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, http.StatusNotFound, message{title: "Nothing was changed", text: []string{
		"That person is no longer on the list (erased, perhaps in another window). Find them again on the admin page."},
		link: &templates.Link{URL: "/admin/", Text: "Back to the admin page"}})
}
