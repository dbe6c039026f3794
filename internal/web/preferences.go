package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// The preferences page's buttons (field "action").
const (
	actionSave          = "save"
	actionLeave         = "leave"
	actionErase         = "erase"           // asks to confirm
	actionEraseConfirms = "erase-confirmed" // erases
)

// The preferences page's choice between each post and a weekly digest
// (field "posts_as").
const (
	postsEach   = "each"
	postsDigest = "digest"
)

// postsAsChoices is the choice between each post and the weekly digest,
// with the subscriber's own selected; none while no feed is sent as a
// digest (the feeds table holds the running scheduler's configuration).
func (s *Server) postsAsChoices(ctx context.Context, id int64) ([]templates.Choice, error) {
	feeds, err := s.DB.DigestFeeds(ctx)
	if err != nil || len(feeds) == 0 {
		return nil, err
	}
	digest, err := s.DB.DigestChoice(ctx, id)
	if err != nil {
		return nil, err
	}
	return []templates.Choice{
		{Value: postsEach, Label: "Each post, as it is published", Selected: !digest},
		{Value: postsDigest, Label: "A weekly digest of the new posts" + digestWhen(feeds), Selected: digest},
	}, nil
}

// digestWhen says when the digests go out: " (Mondays at 09:00)" when
// every digest feed sends at that time, else each feed's time by its
// name, " (blog: Mondays at 09:00; podcast: Thursdays at 17:00)".
func digestWhen(feeds []store.DigestFeed) string {
	whens := make([]string, len(feeds))
	for i, f := range feeds {
		d, err := config.ParseDigest(f.Digest)
		if err != nil {
			return ""
		}
		whens[i] = fmt.Sprintf("%ss at %02d:%02d", d.Day, d.Hour, d.Minute)
	}
	if len(whens) == 0 {
		return ""
	}
	if !slices.ContainsFunc(whens, func(w string) bool { return w != whens[0] }) {
		return " (" + whens[0] + ")"
	}
	each := make([]string, len(feeds))
	for i, f := range feeds {
		each[i] = f.Name + ": " + whens[i]
	}
	return " (" + strings.Join(each, "; ") + ")"
}

// preferencesPage shows what the person gets, with the forms to change it,
// to leave, and to have everything about them deleted.
func (s *Server) preferencesPage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.subscriberFrom(w, r, links.Preferences)
	if !ok {
		return
	}
	sub, err := s.DB.SubscriberByID(r.Context(), id)
	if !s.found(w, r, id, err) {
		return
	}
	s.showPreferences(w, r, http.StatusOK, sub)
}

func (s *Server) showPreferences(w http.ResponseWriter, r *http.Request, code int, sub *store.Subscriber) {
	p := templates.Page{Title: "Your email preferences", Action: "/preferences/" + r.PathValue("token")}
	if sub.Status == store.StatusActive || sub.Status == store.StatusPending {
		p.Topics = topicChoices(sub.Topics)
		p.Paragraphs = []string{"Choose what you would like to get from us."}
		var err error
		if p.PostsAs, err = s.postsAsChoices(r.Context(), sub.ID); err != nil {
			s.logger().Error("preferences_failed", "subscriber_id", sub.ID, "error", err)
			s.unavailable(w, r)
			return
		}
	} else {
		p.Paragraphs = []string{"You get no email from us now. To hear from us again, sign up with the form: you will be asked to confirm."}
	}
	s.render(w, code, templates.PagePreferences, p)
}

// preferences handles the page's three forms and the deletion's
// confirmation step.
func (s *Server) preferences(w http.ResponseWriter, r *http.Request) {
	id, ok := s.subscriberFrom(w, r, links.Preferences)
	if !ok {
		return
	}
	mt := mediaType(r)
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		s.unreadable(w, r, http.StatusUnsupportedMediaType)
		return
	}
	if err := parseForm(r, mt); err != nil {
		s.unreadable(w, r, bodyStatus(err))
		return
	}
	sub, err := s.DB.SubscriberByID(r.Context(), id)
	if !s.found(w, r, id, err) {
		return
	}
	var done message
	switch r.PostForm.Get("action") {
	case actionSave:
		topics := r.PostForm["topics"]
		if store.CheckTopics(topics) != nil {
			s.unreadable(w, r, http.StatusBadRequest)
			return
		}
		postsAs, chosen := r.PostForm["posts_as"]
		if chosen && (len(postsAs) != 1 || (postsAs[0] != postsEach && postsAs[0] != postsDigest)) {
			s.unreadable(w, r, http.StatusBadRequest)
			return
		}
		err, done = s.DB.SetTopics(r.Context(), id, topics), msgSaved
		if len(topics) == 0 {
			done = msgUnsubscribed
		} else if err == nil && chosen {
			err = s.DB.SetDigestChoice(r.Context(), id, postsAs[0] == postsDigest)
		}
		if errors.Is(err, store.ErrNotSubscribed) { // left meanwhile: show where they stand
			s.showPreferences(w, r, http.StatusConflict, sub)
			return
		}
	case actionLeave:
		err, done = s.DB.Unsubscribe(r.Context(), id), msgUnsubscribed
	case actionErase:
		s.render(w, http.StatusOK, templates.PageErase, templates.Page{
			Title: "Delete everything about you?", Action: "/preferences/" + r.PathValue("token"),
			Link: &templates.Link{URL: "/preferences/" + r.PathValue("token"), Text: "No, take me back"},
		})
		return
	case actionEraseConfirms:
		err, done = s.erase(r.Context(), id), msgErased
	default:
		s.unreadable(w, r, http.StatusBadRequest)
		return
	}
	if !s.found(w, r, id, err) {
		return
	}
	s.page(w, r, http.StatusOK, done)
}

// erase deletes everything held about the subscriber, keeping only the
// keyed hash that keeps their address unmailable.
func (s *Server) erase(ctx context.Context, id int64) error {
	if err := s.DB.EraseSubscriberID(ctx, id, s.EraseKey); err != nil {
		return err
	}
	s.logger().Info("subscriber_erased", "subscriber_id", id)
	return nil
}

// found answers and returns false when err is not nil: a subscriber who is
// not there (erased, or never was) gets the same page as a bad link.
func (s *Server) found(w http.ResponseWriter, r *http.Request, id int64, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrNotFound):
		s.page(w, r, http.StatusNotFound, msgBadLink)
	default:
		s.logger().Error("preferences_failed", "subscriber_id", id, "error", err)
		s.unavailable(w, r)
	}
	return false
}
