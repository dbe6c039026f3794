package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// listPage is how many subscribers the list shows at a time.
const listPage = 100

// subscriberList is GET /admin/subscribers: everyone on the list (erased
// people are nobody), or those of one status, in the order they joined,
// listPage at a time. Its URL names a status and an id, never a person.
func (s *Server) subscriberList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := q.Get("status")
	after, err := strconv.ParseInt(cmp.Or(q.Get("after"), "0"), 10, 64)
	if err != nil || after < 0 || store.CheckStatus(status) != nil {
		s.page(w, r, http.StatusBadRequest, message{title: "No such list", text: []string{
			"That list does not exist. Choose one from the admin page."},
			link: &templates.Link{URL: "/admin/subscribers", Text: "Everyone on the list"}})
		return
	}
	subs, err := s.DB.ListSubscribers(r.Context(), status, after, listPage+1)
	if err != nil {
		s.logger().Error("admin_list_failed", "error", err)
		s.page(w, r, http.StatusServiceUnavailable, msgAdminUnreadable)
		return
	}
	p := templates.Page{Title: "Everyone on the list"}
	if status != "" {
		p.Title = "Subscribers: " + status
	}
	for _, st := range append([]string{""}, store.Statuses...) {
		l := templates.Link{Text: cmp.Or(st, "everyone"), URL: "/admin/subscribers"}
		if st != "" {
			l.URL += "?status=" + url.QueryEscape(st)
		}
		if st == status {
			l.URL = ""
		}
		p.Filters = append(p.Filters, l)
	}
	zone := zoneOf(s.Practice.TimeZone)
	t := templates.Table{ID: "subscribers", Empty: "No one.", Head: []string{"Address", "Name", "Status", "Hears about", "Joined"}}
	for _, sub := range subs[:min(len(subs), listPage)] {
		t.Rows = append(t.Rows, []string{sub.Email, sub.Name, sub.Status, strings.Join(sub.Topics, ", "), stamp(sub.CreatedAt.In(zone))})
	}
	p.Admin = []templates.Table{t}
	if after > 0 {
		p.Paragraphs = []string{"Continued: those who joined after the previous page."}
	}
	if len(subs) > listPage {
		v := url.Values{"after": {strconv.FormatInt(subs[listPage-1].ID, 10)}}
		if status != "" {
			v.Set("status", status)
		}
		p.Link = &templates.Link{URL: "/admin/subscribers?" + v.Encode(), Text: fmt.Sprintf("The next %d", listPage)}
	}
	s.render(w, http.StatusOK, templates.PageAdminList, p)
}
