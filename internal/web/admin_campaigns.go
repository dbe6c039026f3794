package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// openCampaigns lists the campaigns not yet over (drafts, scheduled,
// sending), newest first, as the admin page shows them.
func (s *Server) openCampaigns(ctx context.Context) ([]templates.AdminCampaign, error) {
	cs, err := s.DB.Campaigns(ctx, store.CampaignDraft, store.CampaignScheduled, store.CampaignSending)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	counts, err := s.DB.CampaignCounts(ctx)
	if err != nil {
		return nil, err
	}
	zone := zoneOf(s.Practice.TimeZone)
	var out []templates.AdminCampaign
	for _, c := range cs {
		v := templates.AdminCampaign{ID: strconv.FormatInt(c.ID, 10), Subject: c.Subject, Audience: c.Audience, State: c.State}
		switch c.State {
		case store.CampaignDraft:
			v.When = "no time set (practicemail campaigns schedule)"
		case store.CampaignScheduled:
			v.When = "to be sent " + stamp(c.SendAt.In(zone))
		case store.CampaignSending:
			v.When = "started " + stamp(c.StartedAt.In(zone))
			n := counts[c.ID]
			v.Progress = fmt.Sprintf("%d sent, %d to go", n.Sent, n.Remaining)
		}
		out = append(out, v)
	}
	return out, nil
}

// cancelCampaign is POST /admin/campaign/cancel: what campaign id has not
// sent it never will, as `campaigns cancel` does; only with the form's
// confirm box ticked.
func (s *Server) cancelCampaign(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.unreadable(w, r, bodyStatus(err))
		return
	}
	back := &templates.Link{URL: "/admin/", Text: "Back to the admin page"}
	id, err := strconv.ParseInt(r.PostForm.Get("id"), 10, 64)
	if err != nil || id <= 0 {
		s.page(w, r, http.StatusBadRequest, message{title: "Nothing was canceled", text: []string{
			"The form did not name a campaign. Nothing was changed."}, link: back})
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		s.page(w, r, http.StatusBadRequest, message{title: "Nothing was canceled", text: []string{
			"Tick the box that says yes, cancel it, then press the button again. Nothing was changed."}, link: back})
		return
	}
	switch err := s.DB.CancelCampaign(r.Context(), id); {
	case errors.Is(err, store.ErrNotFound):
		s.page(w, r, http.StatusNotFound, message{title: "Nothing was canceled", text: []string{
			"There is no such campaign. Nothing was changed."}, link: back})
		return
	case errors.Is(err, store.ErrCampaignState):
		s.page(w, r, http.StatusConflict, message{title: "Nothing was canceled", text: []string{
			"That campaign is already over (sent, stopped or canceled, perhaps in another window). Nothing was changed."}, link: back})
		return
	case err != nil:
		s.logger().Error("admin_cancel_campaign_failed", "campaign_id", id, "error", err)
		s.unavailable(w, r)
		return
	}
	s.logger().Info("admin_canceled_campaign", "campaign_id", id)
	http.Redirect(w, r, "/admin/?canceled=1", http.StatusSeeOther)
}
