package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// FanoutEnqueuer queues a post's fan-out (the worker's EnqueueFanout).
type FanoutEnqueuer interface {
	EnqueueFanout(ctx context.Context, postID int64) error
}

// maxHeldShown caps the held posts the admin page lists; the rest are
// counted. A blog migration can hold hundreds.
const maxHeldShown = 200

// heldPosts lists the posts held for approval, as the admin page shows
// them, and how many there are in all.
func (s *Server) heldPosts(ctx context.Context) ([]templates.HeldPost, int, error) {
	held, err := s.DB.PostsInState(ctx, store.PostHeld, 0)
	if err != nil {
		return nil, 0, err
	}
	feeds, err := s.DB.Feeds(ctx)
	if err != nil {
		return nil, 0, err
	}
	names := map[int64]string{}
	for _, f := range feeds {
		names[f.ID] = f.Name
	}
	zone := zoneOf(s.Practice.TimeZone)
	var out []templates.HeldPost
	for _, p := range held[:min(len(held), maxHeldShown)] {
		h := templates.HeldPost{ID: strconv.FormatInt(p.ID, 10), Title: p.Title, Feed: names[p.FeedID],
			Published: stamp(p.Published.In(zone))}
		if u, err := url.Parse(p.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
			h.URL = p.URL
		}
		out = append(out, h)
	}
	return out, len(held), nil
}

// decideHeld is POST /admin/held: the held posts named by id fields sent
// (decision=send) or never sent (decision=skip), all or none, then back to
// the page with what was done (303, so a reload does not post again).
func (s *Server) decideHeld(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.unreadable(w, r, bodyStatus(err))
		return
	}
	to, done := store.PostNew, "sent"
	switch r.PostForm.Get("decision") {
	case "send":
	case "skip":
		to, done = store.PostSkipped, "skipped"
	default:
		s.notDecided(w, r, http.StatusBadRequest, "The form did not say whether to send or to skip.")
		return
	}
	var ids []int64
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			s.notDecided(w, r, http.StatusBadRequest, "The form named a post that does not exist.")
			return
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids) // a post named twice is decided once
	if len(ids) == 0 || len(ids) > maxHeldShown {
		s.notDecided(w, r, http.StatusBadRequest, fmt.Sprintf("Choose between 1 and %d posts at a time.", maxHeldShown))
		return
	}
	posts, err := s.DB.DecideHeld(r.Context(), 0, ids, to)
	var notHeld *store.NotHeldError
	switch {
	case errors.As(err, &notHeld):
		s.notDecided(w, r, http.StatusConflict, "Some of those posts are no longer held ("+strings.Join(notHeld.Reasons, "; ")+
			"), perhaps decided in another window or with practicemail poll.")
		return
	case err != nil:
		s.logger().Error("admin_decide_held_failed", "error", err)
		s.unavailable(w, r)
		return
	}
	if to == store.PostNew && s.Fanout != nil {
		for _, p := range posts {
			if err := s.Fanout.EnqueueFanout(r.Context(), p.ID); err != nil {
				// Not lost: the reconciler enqueues posts still new.
				s.logger().Warn("enqueue_fanout_failed", "post_id", p.ID, "error", err)
			}
		}
	}
	s.logger().Info("admin_decided_held", "decision", done, "posts", len(posts))
	http.Redirect(w, r, fmt.Sprintf("/admin/?%s=%d", done, len(posts)), http.StatusSeeOther)
}

// notDecided answers a decision on held posts that changed nothing.
func (s *Server) notDecided(w http.ResponseWriter, r *http.Request, code int, why string) {
	s.page(w, r, code, message{title: "Nothing was decided", text: []string{why + " Nothing was changed."},
		link: &templates.Link{URL: "/admin/", Text: "Back to the admin page"}})
}
