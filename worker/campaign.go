package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// The audiences of campaigns. topic:news goes like a post, to the
// subscribers still active in the topic at send time; the campaign's
// state is asked at least every haltEvery, so that a cancel or
// --stop-after-bookings stops the rest within a second. Each row of
// inquirers:unbooked is its own batch (its contact's id) and is checked
// one by one, the campaign's state with it. A test goes to whoever it is
// addressed to, unless that address left or bounced.
var (
	campaignNewsAudience = audience{topic: store.TopicNews, tokens: []links.Purpose{links.Unsubscribe, links.Preferences},
		halt: (*Worker).campaignHalt}
	campaignInquirersAudience = audience{check: (*Worker).checkInquirer, uncached: true}
	campaignTestAudience      = audience{check: (*Worker).checkCampaignTest, uncached: true, anonymous: true}
)

// campaignAudience is the audience of a campaign batch, and the key its
// message is kept under: a batch of a personal campaign has its own first
// name, hence its own message.
func (w *Worker) campaignAudience(ctx context.Context, b store.BatchRef) (audience, store.BatchRef, error) {
	key := store.BatchRef{Kind: b.Kind, SourceID: b.SourceID}
	if b.Kind == store.KindCampaignTest {
		return campaignTestAudience, key, nil
	}
	c, err := w.campaign(ctx, b.SourceID)
	if err != nil {
		return audience{}, key, err
	}
	if c.Audience == store.AudienceInquirers {
		return campaignInquirersAudience, key, nil
	}
	name, err := w.DB.CampaignBatchName(ctx, b.SourceID, b.Batch)
	if name != "" {
		key.Batch = b.Batch
	}
	return campaignNewsAudience, key, err
}

func (w *Worker) campaign(ctx context.Context, id int64) (*store.Campaign, error) {
	c, err := w.DB.Campaign(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return c, err
}

// prepareCampaign renders the message of batch b of a campaign (or of a
// test of one).
func (w *Worker) prepareCampaign(ctx context.Context, b store.BatchRef, aud audience) (*mail.Prepared, error) {
	id, firstName, test := b.SourceID, "", b.Kind == store.KindCampaignTest
	var err error
	if test {
		if id, _, err = w.DB.CampaignTest(ctx, b.SourceID); err != nil {
			return nil, err
		}
	}
	c, err := w.campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	var c0 mail.Content
	switch {
	case test:
		// Not to a subscriber: its links lead to the pages' "not valid".
		r, err := w.RenderCampaign(c, "", w.marketingFooterFor(w.Links.URL(links.Unsubscribe, "test"), w.Links.URL(links.Preferences, "test")), true)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		c0 = w.transactional(r)
	case c.Audience == store.AudienceInquirers:
		// One contact (the batch): their name, and a List-Unsubscribe
		// that stops every email of the practice to them.
		name, _, _, err := w.DB.InquirerToMail(ctx, b.Batch)
		if err != nil {
			return nil, err
		}
		stop := w.Links.StopSequenceURL(b.Batch)
		r, err := w.RenderCampaign(c, store.FirstName(name), w.marketingFooterFor(stop, stop), false)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		c0 = w.content(r, stop, "inquirers")
	default:
		if firstName, err = w.DB.CampaignBatchName(ctx, c.ID, b.Batch); err != nil {
			return nil, err
		}
		unsubscribe := w.Links.URL(links.Unsubscribe, links.Placeholder(links.Unsubscribe))
		r, err := w.RenderCampaign(c, firstName, w.marketingFooter(unsubscribe), false)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		c0 = w.content(r, unsubscribe, store.TopicNews)
	}
	return mail.Prepare(c0, aud.placeholders())
}

// marketingFooterFor is the marketing footer with these links.
func (w *Worker) marketingFooterFor(unsubscribeURL, preferencesURL string) templates.Footer {
	f := w.marketingFooter(unsubscribeURL)
	f.PreferencesURL = preferencesURL
	return f
}

// campaignHalt is the send-time check of a campaign batch as a whole.
func (w *Worker) campaignHalt(ctx context.Context, b store.BatchRef) (string, error) {
	return w.DB.CampaignHalt(ctx, b.SourceID)
}

// checkInquirer is the send-time check of an inquirers:unbooked row: the
// campaign still sending, the contact still unbooked and consenting.
func (w *Worker) checkInquirer(ctx context.Context, b store.BatchRef) (verdict, error) {
	why, err := w.DB.CampaignHalt(ctx, b.SourceID)
	if err != nil || why != "" {
		return verdict{State: store.DeliverySuppressed, Reason: store.HaltedReply + why}, err
	}
	name, ok, why, err := w.DB.InquirerToMail(ctx, b.Batch)
	if err != nil || !ok {
		return verdict{State: store.DeliverySuppressed, Reason: "not to be mailed at send time: " + why}, err
	}
	return verdict{OK: true, Name: name}, nil
}

// checkCampaignTest is the send-time check of a test: its address must
// not be one that left, bounced or was erased.
func (w *Worker) checkCampaignTest(ctx context.Context, b store.BatchRef) (verdict, error) {
	_, email, err := w.DB.CampaignTest(ctx, b.SourceID)
	if err != nil {
		return verdict{}, err
	}
	why, err := w.DB.AddressHeldBack(ctx, email)
	if err != nil || why != "" {
		return verdict{State: store.DeliverySuppressed, Reason: "not to be mailed: " + why}, err
	}
	return verdict{OK: true}, nil
}

// SendCampaignTest queues one test of campaign id to email and enqueues
// its send. The reconciler enqueues it again if Redis loses it.
func (w *Worker) SendCampaignTest(ctx context.Context, id int64, email string) error {
	b, err := w.DB.AddCampaignTest(ctx, id, email)
	if err != nil {
		return err
	}
	return w.enqueue(ctx, NewDeliverTask(w.Instance, b, ""))
}

// runCampaigns is the leading scheduler's part in campaigns, each tick:
// it starts the campaigns whose time has come (fixing their audience in
// SQL, once however many schedulers try) and enqueues their batches, lets
// --stop-after-bookings stop a campaign between its sends, and marks sent
// those with nothing left. What it enqueues, the reconciler enqueues again
// if Redis loses it.
func (w *Worker) runCampaigns(ctx context.Context) error {
	due, err := w.DB.DueCampaigns(ctx, w.now())
	if err != nil {
		return err
	}
	for _, id := range due {
		// One campaign that cannot start keeps no other from starting.
		if err := w.startCampaign(ctx, id); err != nil && ctx.Err() == nil {
			w.Log.Warn("campaign_start_failed", "campaign", id, "error", err)
		}
	}
	sending, err := w.DB.SendingCampaigns(ctx)
	if err != nil {
		return err
	}
	for _, id := range sending {
		if why, err := w.DB.CampaignHalt(ctx, id); err != nil {
			return err
		} else if why != "" {
			w.Log.Info("campaign_halted", "campaign", id, "reason", why)
		}
	}
	_, err = w.DB.FinishCampaigns(ctx)
	return err
}

func (w *Worker) startCampaign(ctx context.Context, id int64) error {
	c, err := w.DB.Campaign(ctx, id)
	if err != nil {
		return err
	}
	personal, err := w.CampaignPersonal(c)
	if err != nil {
		return err // checked when it was created: the code changed since
	}
	batches, err := w.DB.StartCampaign(ctx, id, w.Options.BatchSize, personal)
	if err != nil || len(batches) == 0 {
		return err
	}
	w.Log.Info("campaign_started", "campaign", id, "audience", c.Audience, "batches", len(batches))
	for _, b := range batches {
		if _, err := w.ensure(ctx, deliverTaskID(w.Instance, b), QueueMail, w.now(), func(round string) *asynq.Task {
			return NewDeliverTask(w.Instance, b, round)
		}); err != nil {
			return err // the reconciler enqueues the rest
		}
	}
	return nil
}
