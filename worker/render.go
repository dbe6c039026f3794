package worker

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	netmail "net/mail"
	"net/url"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// audience is who a kind of delivery may still go to at send time.
type audience struct {
	topic  string // recipients must be active and follow this topic
	status string // or, when set: recipients must have this status
	// tokens are the purposes of the links personalised per recipient,
	// in the order of the shared message's placeholders.
	tokens []links.Purpose
	// anonymous sends without the recipient's name: the sign-up form's
	// emails go to an address anyone may have typed, with a name anyone
	// may have typed.
	anonymous bool
	// check, when set, decides at send time instead of topic and status,
	// for kinds whose one row goes to someone who is no subscriber: a
	// sequence step's contact, the practice's notification.
	check func(w *Worker, ctx context.Context, b store.BatchRef) (verdict, error)
	// uncached: the message is rendered for one source's one recipient
	// (or holds private text) and is not kept.
	uncached bool
	// halt, when set, is asked before a send, at most every haltEvery,
	// whether the rest of the batch must not go (a canceled campaign): the
	// reason, recorded for each row left, or "".
	halt func(w *Worker, ctx context.Context, b store.BatchRef) (string, error)
}

// verdict is a check's answer for a batch's row: OK with the recipient's
// name, or the state to record instead (suppressed, failed) and why.
type verdict struct {
	OK     bool
	Name   string
	State  string
	Reason string
}

// The audiences of each kind of delivery.
var (
	postAudience    = audience{topic: store.TopicPosts, tokens: []links.Purpose{links.Unsubscribe, links.Preferences}}
	confirmAudience = audience{status: store.StatusPending, tokens: []links.Purpose{links.Confirm}, anonymous: true}
	alreadyAudience = audience{status: store.StatusActive, tokens: []links.Purpose{links.Preferences}}
)

// placeholders returns the placeholders of a.tokens.
func (a audience) placeholders() []string {
	out := make([]string, len(a.tokens))
	for i, p := range a.tokens {
		out[i] = links.Placeholder(p)
	}
	return out
}

// prepare returns the message shared by every recipient of (kind, source),
// rendered and encoded once per process, and its audience.
func (w *Worker) prepare(ctx context.Context, b store.BatchRef) (*mail.Prepared, audience, error) {
	key := store.BatchRef{Kind: b.Kind, SourceID: b.SourceID}
	var aud audience
	var render func() (*mail.Prepared, error)
	switch b.Kind {
	case store.KindPost:
		aud, render = postAudience, func() (*mail.Prepared, error) { return w.preparePost(ctx, b.SourceID) }
	case store.KindConfirm:
		// One message for every sign-up: only the token differs.
		key.SourceID = 0
		aud, render = confirmAudience, w.prepareConfirm
	case store.KindAlready:
		key.SourceID = 0
		aud, render = alreadyAudience, w.prepareAlready
	case store.KindDigest:
		aud, render = digestAudience, func() (*mail.Prepared, error) { return w.prepareDigest(ctx, b.SourceID) }
	case store.KindStep:
		aud, render = stepAudience, func() (*mail.Prepared, error) { return w.prepareStep(ctx, b.SourceID) }
	case store.KindInquiryNotify:
		aud, render = notifyAudience, func() (*mail.Prepared, error) { return w.prepareNotify(ctx, b.SourceID) }
	case store.KindCampaign, store.KindCampaignTest:
		var err error
		if aud, key, err = w.campaignAudience(ctx, b); err != nil {
			return nil, aud, err
		}
		render = func() (*mail.Prepared, error) { return w.prepareCampaign(ctx, b, aud) }
	default:
		return nil, audience{}, fmt.Errorf("unknown delivery kind %q: %w", b.Kind, asynq.SkipRetry)
	}
	if aud.uncached {
		p, err := render()
		return p, aud, err
	}
	if p := w.prepared.get(key); p != nil {
		return p, aud, nil
	}
	p, err := render()
	if err != nil {
		return nil, aud, err
	}
	w.prepared.put(key, p)
	return p, aud, nil
}

// prepareConfirm renders the double opt-in request. It has no
// List-Unsubscribe and no marketing footer: the person has not agreed to
// anything yet, and ignoring it is how they say no.
func (w *Worker) prepareConfirm() (*mail.Prepared, error) {
	r, err := w.Templates.Confirm(templates.ConfirmEmail{
		Practice:   w.Practice.Name,
		ConfirmURL: w.Links.URL(links.Confirm, links.Placeholder(links.Confirm)),
		Footer:     templates.Footer{PracticeName: w.Practice.Name},
	})
	if err != nil {
		return nil, fmt.Errorf("render the confirmation: %w: %w", err, asynq.SkipRetry)
	}
	return mail.Prepare(w.transactional(r), confirmAudience.placeholders())
}

// prepareAlready renders "you are already subscribed", with a link to the
// person's preferences.
func (w *Worker) prepareAlready() (*mail.Prepared, error) {
	r, err := w.Templates.Already(templates.AlreadyEmail{
		Practice:       w.Practice.Name,
		PreferencesURL: w.Links.URL(links.Preferences, links.Placeholder(links.Preferences)),
		Footer:         templates.Footer{PracticeName: w.Practice.Name},
	})
	if err != nil {
		return nil, fmt.Errorf("render the already-subscribed email: %w: %w", err, asynq.SkipRetry)
	}
	return mail.Prepare(w.transactional(r), alreadyAudience.placeholders())
}

// transactional is an email that answers a person's own request: no list
// headers.
func (w *Worker) transactional(r templates.Rendered) mail.Content {
	return mail.Content{From: w.Practice.From, ReplyTo: w.Practice.ReplyTo, Subject: r.Subject, HTML: r.HTML, Text: r.Text}
}

// errPostFailed marks a post that cannot be rendered: it is failed, nothing
// of it is sent, and trying again will not help.
var errPostFailed = errors.New("the post cannot be rendered")

func (w *Worker) preparePost(ctx context.Context, postID int64) (*mail.Prepared, error) {
	post, err := w.DB.Post(ctx, postID)
	if err != nil {
		return nil, err
	}
	if post.State == store.PostFailed { // fail what was queued since, once more
		return nil, w.failPost(ctx, post, errPostFailed)
	}
	c, err := w.PostContent(post)
	var p *mail.Prepared
	if err == nil {
		p, err = mail.Prepare(c, postAudience.placeholders())
	}
	if err != nil {
		return nil, w.failPost(ctx, post, err)
	}
	return p, nil
}

// PostContent is the email of post as every subscriber gets it, with
// links.Placeholder strings where each one's link tokens go: what
// preparePost encodes once for them all, and what `preview post` shows. It
// records nothing.
func (w *Worker) PostContent(post *store.Post) (mail.Content, error) {
	unsubscribe := w.Links.URL(links.Unsubscribe, links.Placeholder(links.Unsubscribe))
	r, err := w.Templates.Post(templates.PostEmail{
		Practice:    w.Practice.Name,
		BaseURL:     w.Practice.BaseURL,
		Title:       post.Title,
		Author:      post.Author,
		Date:        firstNonZero(post.Published, post.CreatedAt),
		TimeZone:    w.Practice.TimeZone,
		ContentHTML: template.HTML(post.Content), // sanitised by feeds when it was stored
		Summary:     post.Summary,
		PostURL:     blogLink(post.URL),
		Full:        post.Content != "",
		Footer:      w.marketingFooter(unsubscribe),
	})
	if err != nil {
		return mail.Content{}, err
	}
	return w.content(r, unsubscribe, store.TopicPosts), nil
}

// failPost records that post cannot be rendered, and why: the post is
// failed and so is each of its deliveries still queued. The first time, it
// logs the reason as an error. It returns errPostFailed, which tells asynq
// not to retry, or the error that kept it from recording (which may pass).
func (w *Worker) failPost(ctx context.Context, post *store.Post, cause error) error {
	moved, err := w.DB.FailPost(ctx, post.ID, cause.Error())
	if err != nil {
		return err
	}
	if moved {
		w.Log.Error("post_failed", "post_id", post.ID, "title", post.Title, "error", cause.Error())
	}
	return fmt.Errorf("post %d: %w: %w", post.ID, errPostFailed, asynq.SkipRetry)
}

// renderable renders a post before its deliveries are written, so that a
// post that cannot be rendered fails before anyone is queued for it. The
// message is kept for the post's sends.
func (w *Worker) renderable(ctx context.Context, postID int64) (bool, error) {
	_, _, err := w.prepare(ctx, store.BatchRef{Kind: store.KindPost, SourceID: postID})
	if errors.Is(err, errPostFailed) {
		return false, nil
	}
	return err == nil, err
}

// blogLink is link if a reader can follow it to the blog: an absolute http
// or https URL. Anything else (none, javascript:, a relative path) is ""
// and the email goes without its "Read on the blog" button.
func blogLink(link string) string {
	link = strings.TrimSpace(link)
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return link
}

func (w *Worker) marketingFooter(unsubscribeURL string) templates.Footer {
	return templates.Footer{
		PracticeName:   w.Practice.Name,
		PostalAddress:  w.Practice.PostalAddress,
		UnsubscribeURL: unsubscribeURL,
		PreferencesURL: w.Links.URL(links.Preferences, links.Placeholder(links.Preferences)),
		Marketing:      true,
	}
}

// content is a rendered marketing email to the subscribers of topic, with
// its one-click unsubscribe headers (RFC 8058) and the topic's List-Id
// (RFC 2919), which mail clients and filters sort by.
func (w *Worker) content(r templates.Rendered, unsubscribeURL, topic string) mail.Content {
	c := mail.Content{
		From: w.Practice.From, ReplyTo: w.Practice.ReplyTo, Subject: r.Subject, HTML: r.HTML, Text: r.Text,
		Headers: map[string]string{
			"List-Unsubscribe":      "<" + unsubscribeURL + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}
	if id := mail.ListID(w.Practice.Name+" "+topic, topic, w.Practice.BaseURL); id != "" {
		c.Headers["List-Id"] = id
	}
	return c
}

// recipient is one claimed row as the mail package wants it: its own tokens,
// and a Message-ID stable across retries, so a mail client can tell a
// duplicate after a crash for what it is.
func (w *Worker) recipient(b store.BatchRef, aud audience, c store.Claimed, name string) mail.Recipient {
	values := make([]string, len(aud.tokens))
	for i, p := range aud.tokens {
		values[i] = w.Links.Token(p, c.SubscriberID)
	}
	if aud.anonymous {
		name = ""
	}
	return mail.Recipient{
		Address:   c.Recipient,
		Name:      name,
		MessageID: fmt.Sprintf("d%d.%s%d.%s", c.ID, b.Kind, b.SourceID, w.Instance),
		Values:    values,
	}
}

func firstNonZero[T comparable](vs ...T) T {
	var zero T
	for _, v := range vs {
		if v != zero {
			return v
		}
	}
	return zero
}

// fromAddress is the bare address of the practice's From: the envelope
// sender.
func (w *Worker) fromAddress() string {
	if a, err := netmail.ParseAddress(w.Practice.From); err == nil {
		return a.Address
	}
	return w.Practice.From
}

// eligible returns, of ids, who may be sent a's mail now, with their names.
func (a audience) eligible(ctx context.Context, db *store.DB, ids []int64) (map[int64]string, error) {
	if a.status != "" {
		return db.EligibleStatus(ctx, a.status, ids)
	}
	return db.Eligible(ctx, a.topic, ids)
}
