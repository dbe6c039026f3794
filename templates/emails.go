package templates

import (
	"errors"
	htmltemplate "html/template"
	"strings"
	"time"
)

// Footer is the end of every email. Marketing email (posts, campaigns,
// sequence steps) must show the postal address and the unsubscribe and
// preferences links; other email (the confirmation) shows only the
// practice's name.
//
// Callers rendering once for many recipients pass URLs containing
// links.Placeholder strings and substitute each recipient's token later:
// URLs are printed verbatim, except that & becomes &amp; in HTML.
type Footer struct {
	PracticeName   string
	PostalAddress  string
	UnsubscribeURL string
	PreferencesURL string
	Marketing      bool
}

func (f Footer) validate() error {
	if f.Marketing && (f.PracticeName == "" || f.PostalAddress == "" || f.UnsubscribeURL == "" || f.PreferencesURL == "") {
		return errMissingFooter
	}
	return nil
}

// PostEmail is the data of the "post" email: one blog post sent to a
// subscriber. Its subject is the post's title.
type PostEmail struct {
	Practice    string // shown in the header
	Title       string
	Author      string // may be empty
	Date        time.Time
	TimeZone    *time.Location    // Date is shown in this zone; nil keeps Date's own
	ContentHTML htmltemplate.HTML // the post's content, already sanitised and with absolute URLs
	Summary     string            // plain text, shown instead of the content when Full is false
	PostURL     string
	Full        bool   // whole content; otherwise the summary and the "Read on the blog" link
	BaseURL     string // the practice's public address (practice.base_url), named in the line saying why the reader gets this email
	Footer      Footer
}

func (d PostEmail) footer() Footer { return d.Footer }

// DigestEmail is the data of the "digest" email: a feed's posts of one
// period, sent once to the subscribers who chose a weekly digest. Like a
// post email it is marketing email.
type DigestEmail struct {
	Practice string
	BaseURL  string         // as in PostEmail
	Since    time.Time      // the start of the period
	TimeZone *time.Location // dates are shown in this zone; nil keeps their own
	Posts    []DigestPost   // at least one
	Footer   Footer
}

// DigestPost is one post listed in a digest: its title, byline and
// summary, and the link to read it on the blog (empty: no link).
type DigestPost struct {
	Title, Author, Summary, URL string
	Date                        time.Time
}

func (d DigestEmail) footer() Footer { return d.Footer }

// ConfirmEmail is the data of the "confirm" email, the double opt-in request.
// Its Footer must not be a marketing footer.
type ConfirmEmail struct {
	Practice   string
	ConfirmURL string
	Footer     Footer
}

func (d ConfirmEmail) footer() Footer { return d.Footer }

// AlreadyEmail is the data of the "already" email, sent instead of a
// confirmation to someone who asks to subscribe and already is. It links to
// their preferences and, like the confirmation, is not marketing email.
type AlreadyEmail struct {
	Practice       string
	PreferencesURL string
	Footer         Footer
}

func (d AlreadyEmail) footer() Footer { return d.Footer }

// InquiryEmail is the data of the inquiry sequence emails, starting with
// "inquiry/thanks", the acknowledgement sent as soon as someone writes. They
// all carry crisis resources.
type InquiryEmail struct {
	Practice   string
	Name       string // the person's name as they gave it; may be empty
	BookingURL string // where to book a consult; may be empty
	Preview    string // the step's inbox preview text, shown as the hidden preheader; may be empty
	Footer     Footer
}

func (d InquiryEmail) footer() Footer { return d.Footer }

func (d InquiryEmail) preview() string { return d.Preview }

// CampaignEmail is the data of the "campaign" email: a letter the
// practice writes once and schedules (internal/compose renders its body).
// Subject is used as it is: the caller has checked it (compose.CheckSubject).
type CampaignEmail struct {
	Practice string
	Subject  string
	Body     htmltemplate.HTML // sanitised, merge fields filled (compose.Body.For)
	BodyText string            // the body's text part; made from Body when empty
	Footer   Footer
	// Test marks a copy sent to the practice to look at: a visible notice
	// and a subject starting "[Test] ".
	Test bool
}

func (d CampaignEmail) footer() Footer { return d.Footer }

// Campaign renders the "campaign" email, inside the practice layout. Like a
// post it is marketing email: its footer must be a complete marketing
// footer, with the postal address and the unsubscribe and preferences
// links.
func (e *Engine) Campaign(d CampaignEmail) (Rendered, error) {
	switch {
	case !d.Footer.Marketing:
		return Rendered{}, errors.New("templates: campaign: a campaign is marketing email and needs a marketing footer")
	case strings.TrimSpace(d.Subject) == "":
		return Rendered{}, errors.New("templates: campaign: no subject")
	case strings.TrimSpace(string(d.Body)) == "":
		return Rendered{}, errors.New("templates: campaign: no body")
	}
	return e.Render("campaign", d)
}

// Post renders the "post" email. Its footer must be a complete marketing
// footer. Without a PostURL it has no "Read on the blog" link.
func (e *Engine) Post(d PostEmail) (Rendered, error) {
	if !d.Footer.Marketing {
		return Rendered{}, errors.New("templates: post: a post email is marketing email and needs a marketing footer")
	}
	return e.Render("post", d)
}

// Digest renders the "digest" email. Its footer must be a complete
// marketing footer, and it lists at least one post: a period without posts
// sends nothing.
func (e *Engine) Digest(d DigestEmail) (Rendered, error) {
	if !d.Footer.Marketing {
		return Rendered{}, errors.New("templates: digest: a digest is marketing email and needs a marketing footer")
	}
	if len(d.Posts) == 0 {
		return Rendered{}, errors.New("templates: digest: no posts")
	}
	return e.Render("digest", d)
}

// Confirm renders the "confirm" email, which must not carry a marketing
// footer: it is sent before the person has agreed to receive anything.
func (e *Engine) Confirm(d ConfirmEmail) (Rendered, error) {
	if d.Footer.Marketing {
		return Rendered{}, errors.New("templates: confirm: the confirmation email must not have a marketing footer")
	}
	if d.ConfirmURL == "" {
		return Rendered{}, errors.New("templates: confirm: no ConfirmURL")
	}
	return e.Render("confirm", d)
}

// Already renders the "already" email. Like the confirmation it answers a
// request from the sign-up form, so it must not carry a marketing footer.
func (e *Engine) Already(d AlreadyEmail) (Rendered, error) {
	if d.Footer.Marketing {
		return Rendered{}, errors.New("templates: already: this email answers a request and must not have a marketing footer")
	}
	if d.PreferencesURL == "" {
		return Rendered{}, errors.New("templates: already: no PreferencesURL")
	}
	return e.Render("already", d)
}
