package roster

import (
	"fmt"
	"strings"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// verdict is what a row's own columns say about the person's consent. The
// file is believed over the import's options: --confirmed vouches for the
// people who are subscribed there, never for those who left.
type verdict struct {
	suppressed string    // store.StatusUnsubscribed, StatusBounced or StatusComplained, or ""
	why        string    // the summary's words for it: "unsubscribed in the file"
	at         time.Time // when they left, when the file says
	pending    bool      // subscribed there, but never confirmed
	skip       string    // why the row is not imported at all
}

// fileStatus maps the status values of Mailchimp ("Member Status"), Kit
// ("state": active, inactive, cancelled, bounced, complained; "cold" is a
// segment of active people), Substack and Export to a verdict.
var fileStatus = map[string]verdict{
	"":             {},
	"subscribed":   {},
	"active":       {},
	"confirmed":    {},
	"cold":         {},
	"pending":      {pending: true},
	"inactive":     {pending: true},
	"unconfirmed":  {pending: true},
	"unsubscribed": {suppressed: store.StatusUnsubscribed, why: "unsubscribed in the file"},
	"unsubscribe":  {suppressed: store.StatusUnsubscribed, why: "unsubscribed in the file"},
	"cancelled":    {suppressed: store.StatusUnsubscribed, why: "unsubscribed in the file"},
	"canceled":     {suppressed: store.StatusUnsubscribed, why: "unsubscribed in the file"},
	"cleaned":      {suppressed: store.StatusBounced, why: "bounced in the file (cleaned)"},
	"bounced":      {suppressed: store.StatusBounced, why: "bounced in the file"},
	"complained":   {suppressed: store.StatusComplained, why: "complained in the file"},
	// Mailchimp: never subscribed to marketing, or taken off the list by
	// the account. Neither is consent, nor a suppression to keep.
	"transactional": {skip: "never subscribed in the file (transactional)"},
	"archived":      {skip: "archived in the file"},
}

// judge returns what the row says about the person.
func (c columns) judge(rec []string) verdict {
	status := strings.ToLower(field(rec, c.status))
	v, ok := fileStatus[status]
	if !ok {
		return verdict{skip: fmt.Sprintf("unknown status %q", shorten(status))}
	}
	switch {
	case v.suppressed != "" || v.skip != "":
	case field(rec, c.unsubTime) != "": // Mailchimp's unsubscribed export has no status column
		v = verdict{suppressed: store.StatusUnsubscribed, why: "unsubscribed in the file"}
	case field(rec, c.cleanTime) != "":
		v = verdict{suppressed: store.StatusBounced, why: "bounced in the file (cleaned)"}
	case isTrue(field(rec, c.disabled)):
		v = verdict{suppressed: store.StatusUnsubscribed, why: "email disabled in the file"}
	}
	if v.suppressed == store.StatusUnsubscribed {
		v.at, _ = parseTime(field(rec, c.unsubTime))
	}
	return v
}

// consent returns when the row's person gave consent and whether a time was
// there but unreadable. Export's consent_at comes first, then Mailchimp's
// OPTIN_TIME and CONFIRM_TIME (an imported Mailchimp contact often has only
// the latter), then Substack's and Kit's created_at.
func (c columns) consent(rec []string) (at time.Time, unreadable bool) {
	for _, i := range []int{c.consentAt, c.optinTime, c.confirmTime, c.createdAt} {
		s := field(rec, i)
		if s == "" {
			continue
		}
		t, ok := parseTime(s)
		if ok {
			return t, false
		}
		unreadable = true
	}
	return time.Time{}, unreadable
}

// source returns the consent source recorded for the row: Export's own
// column when the file has it (the original record travels with the
// person), else the import's, naming the tool the file came from.
func (c columns) source(rec []string, importSource string) string {
	if s := field(rec, c.consentSource); s != "" {
		return s
	}
	if c.platform != "" {
		return c.platform + " via " + importSource
	}
	return importSource
}

// timeLayouts are the ways exports write a time: RFC 3339 (Export,
// Substack), Mailchimp's "2006-01-02 15:04:05", Kit's with " UTC" after it.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02 15:04:05 MST",
	"2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"}

// parseTime reads a time in one of timeLayouts; one without a zone is UTC,
// as Mailchimp's are.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil && t.Year() >= 1990 {
			return t, true
		}
	}
	return time.Time{}, false
}
