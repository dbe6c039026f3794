package worker

import (
	"fmt"

	"github.com/practicemail/practicemail/internal/compose"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// campaignBody renders campaign c's source (Markdown or HTML, sanitised,
// with the campaign-wide merge fields filled): the one place the worker
// uses package compose.
func (w *Worker) campaignBody(c *store.Campaign) (*compose.Body, error) {
	b, err := compose.Render([]byte(c.Body), compose.Format(c.Format),
		compose.Fields{PracticeName: w.Practice.Name, BookingURL: w.Inquiries.BookingURL})
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", c.ID, err)
	}
	return b, nil
}

// RenderCampaign renders campaign c as the email a recipient called
// firstName gets, in the practice's layout with footer; test marks it as
// a test. Every campaign email, its preview and its test are rendered here.
func (w *Worker) RenderCampaign(c *store.Campaign, firstName string, footer templates.Footer, test bool) (templates.Rendered, error) {
	b, err := w.campaignBody(c)
	if err != nil {
		return templates.Rendered{}, err
	}
	html, text := b.For(firstName)
	r, err := w.Templates.Campaign(templates.CampaignEmail{
		Practice: w.Practice.Name, Subject: c.Subject, Body: html, BodyText: text, Footer: footer, Test: test,
	})
	if err != nil {
		return templates.Rendered{}, fmt.Errorf("campaign %d: %w", c.ID, err)
	}
	return r, nil
}

// CampaignPersonal reports whether campaign c's body has a first-name slot.
func (w *Worker) CampaignPersonal(c *store.Campaign) (bool, error) {
	b, err := w.campaignBody(c)
	if err != nil {
		return false, err
	}
	return b.Personal(), nil
}
