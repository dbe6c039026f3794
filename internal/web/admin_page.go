package web

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/practicemail/practicemail/internal/status"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// adminPage is GET /admin/: what `practicemail status` prints, as a page
// for the therapist, read afresh on each visit. It only reads; it shows
// the addresses of the latest bounces, as status does, to the holder of
// the admin password only (the page is never cached).
func (s *Server) adminPage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/admin/" {
		s.notFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var held []templates.HeldPost
	var all int
	var campaigns []templates.AdminCampaign
	rep, err := s.Status(ctx)
	if err == nil {
		held, all, err = s.heldPosts(ctx)
	}
	if err == nil {
		campaigns, err = s.openCampaigns(ctx)
	}
	if err != nil {
		s.logger().Error("admin_status_failed", "error", err)
		s.page(w, r, http.StatusServiceUnavailable, msgAdminUnreadable)
		return
	}
	var said []string
	for _, d := range []struct{ key, text string }{{"sent", "%d post(s) approved: they are being sent."},
		{"skipped", "%d post(s) skipped: they will never be sent."},
		{"unsubscribed", "Unsubscribed: they get nothing more from the list."},
		{"erased", "Erased: nothing is held about them but a keyed hash of the address."},
		{"canceled", "Canceled: what the campaign has not sent, it never will."}} {
		if n, err := strconv.Atoi(r.URL.Query().Get(d.key)); err == nil && n > 0 {
			if strings.Contains(d.text, "%d") {
				said = append(said, fmt.Sprintf(d.text, n))
			} else {
				said = append(said, d.text)
			}
		}
	}
	said = append(said, "As of "+s.now().In(zoneOf(rep.TimeZone)).Format("Mon 2 Jan 2006 15:04 MST")+". Reload for the latest.")
	s.render(w, http.StatusOK, templates.PageAdmin, templates.Page{Title: "How the email is doing",
		Paragraphs: said, Admin: adminTables(rep), Held: held, HeldMore: all - len(held), Campaigns: campaigns})
}

// msgAdminUnreadable is the admin page when the database cannot be read.
var msgAdminUnreadable = message{title: "The database cannot be read", text: []string{
	"practicemail could not read its database just now. Running practicemail status on the server says more, and the log has the error.",
}}

func zoneOf(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// adminTables lays the report out as the page's tables.
func adminTables(rep status.Report) []templates.Table {
	count := func(id, title string, by map[string]int64, order ...string) templates.Table {
		t := templates.Table{ID: id, Title: title, Numbers: true, Empty: "None yet."}
		for _, k := range order {
			t.Rows = append(t.Rows, []string{k, strconv.FormatInt(by[k], 10)})
		}
		for _, k := range slices.Sorted(maps.Keys(by)) {
			if !slices.Contains(order, k) {
				t.Rows = append(t.Rows, []string{k, strconv.FormatInt(by[k], 10)})
			}
		}
		return t
	}
	deliveries := count("deliveries", "Emails by state", rep.Deliveries, store.DeliveryQueued, store.DeliverySending,
		store.DeliverySent, store.DeliveryFailed, store.DeliverySuppressed, store.DeliveryUnknown)
	if rep.Unfolded > 0 {
		deliveries.Note = fmt.Sprintf("%d outcomes could not yet be written to their rows: is the disk full or the database read-only?", rep.Unfolded)
	}
	sending := templates.Table{ID: "sending", Title: "Posts on their way", Numbers: true, Empty: "No post is being sent.",
		Head: []string{"Post", "Sent", "Failed", "Not sent (left since)", "To go"}}
	for _, p := range rep.Sending {
		sending.Rows = append(sending.Rows, []string{p.Title, num(p.Sent), num(p.Failed), num(p.Suppressed), num(p.ToGo)})
	}
	failed := templates.Table{ID: "failed-posts", Title: "Posts that could not be sent", Empty: "None.",
		Head: []string{"Post", "When", "Why"}}
	for _, p := range rep.FailedPosts {
		failed.Rows = append(failed.Rows, []string{p.Title, stamp(p.At), p.Reason})
	}
	feeds := templates.Table{ID: "feeds", Title: "Feeds", Empty: "No feed is configured.",
		Head: []string{"Feed", "Last poll", "Result", "Failed in a row", "Next poll"}}
	for _, f := range rep.Feeds {
		result := f.Result
		if f.LastError != "" {
			result = "failing: " + f.LastError
		}
		if !f.Enabled {
			result = "not in the configuration (not polled)"
		}
		feeds.Rows = append(feeds.Rows, []string{f.Name, stamp(f.PolledAt), result, strconv.Itoa(f.Failures), stamp(f.NextPollAt)})
	}
	bounces := count("bounces", "Bounces and complaints, last 30 days", rep.Bounces.Recent,
		store.BounceHard, store.BounceSoft, store.BounceComplaint)
	latest := templates.Table{ID: "latest-bounces", Title: "Latest bounces", Empty: "None.",
		Head: []string{"When", "Address", "Type", "Reason"}}
	for _, b := range rep.Bounces.Latest {
		address := b.Email
		if address == "" {
			address = "(erased)"
		}
		latest.Rows = append(latest.Rows, []string{stamp(b.At), address, b.Type, b.Reason})
	}
	queues := templates.Table{ID: "queues", Title: "Task queues", Numbers: true, Empty: "No task has been queued yet.",
		Head: []string{"Queue", "Pending", "Active", "Scheduled", "Retrying", "Archived (gave up)"}}
	if rep.Redis != "" {
		queues.Note, queues.Empty = "Redis did not answer: "+rep.Redis, "Unknown while Redis does not answer."
	}
	for _, q := range slices.Sorted(maps.Keys(rep.Queues)) {
		n := rep.Queues[q]
		queues.Rows = append(queues.Rows, []string{q, strconv.Itoa(n.Pending), strconv.Itoa(n.Active),
			strconv.Itoa(n.Scheduled), strconv.Itoa(n.Retry), strconv.Itoa(n.Archived)})
	}
	return []templates.Table{
		count("subscribers", "Subscribers", rep.Subscribers, store.StatusActive, store.StatusPending,
			store.StatusUnsubscribed, store.StatusBounced, store.StatusComplained, store.StatusErased),
		sending, failed,
		count("posts", "Posts by state", rep.Posts, store.PostNew, store.PostHeld, store.PostSending, store.PostSent,
			store.PostFailed, store.PostBaseline, store.PostSkipped),
		deliveries, feeds, bounces, latest, queues,
	}
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

// stamp is a time as the page shows it, already in the practice's zone;
// the zero time, in any zone, is "never".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format("2 Jan 2006 15:04 MST")
}
