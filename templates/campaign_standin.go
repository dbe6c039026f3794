// STAND-IN — to be deleted at merge: h-compose owns CampaignEmail and
// Engine.Campaign (templates/email/campaign.{html,txt}). This file exists
// only so that h-campaigns compiles against the agreed API; it borrows the
// post email's layout.
package templates

import (
	"errors"
	htmltemplate "html/template"
)

// CampaignEmail is the data of a campaign email.
type CampaignEmail struct {
	Practice, Subject string
	Body              htmltemplate.HTML
	BodyText          string
	Footer            Footer
	Test              bool
}

// Campaign renders a campaign email inside the practice's layout.
func (e *Engine) Campaign(d CampaignEmail) (Rendered, error) {
	if !d.Footer.Marketing {
		return Rendered{}, errors.New("templates: campaign: a campaign is marketing email and needs a marketing footer")
	}
	body := d.Body
	if d.Test {
		body = "<p><strong>This is a test.</strong></p>" + body
	}
	r, err := e.Post(PostEmail{Practice: d.Practice, Title: d.Subject, ContentHTML: body, Full: true, Footer: d.Footer})
	if err != nil {
		return r, err
	}
	r.Subject = d.Subject
	if d.Test {
		r.Subject = "[Test] " + d.Subject
	}
	return r, nil
}
