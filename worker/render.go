package worker

import (
	"context"
	"fmt"
	"html/template"
	netmail "net/mail"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// marketingPlaceholders stand in the shared message for each recipient's
// unsubscribe and preferences tokens, in this order.
var marketingPlaceholders = []string{links.Placeholder(links.Unsubscribe), links.Placeholder(links.Preferences)}

// audience is who a kind of delivery may still go to at send time.
type audience struct {
	topic string // recipients must be active and follow this topic
}

// prepare returns the message shared by every recipient of (kind, source),
// rendered and encoded once per process, and its audience.
func (w *Worker) prepare(ctx context.Context, b store.BatchRef) (*mail.Prepared, audience, error) {
	key := store.BatchRef{Kind: b.Kind, SourceID: b.SourceID}
	switch b.Kind {
	case store.KindPost:
		aud := audience{topic: store.TopicPosts}
		if p := w.prepared.get(key); p != nil {
			return p, aud, nil
		}
		p, err := w.preparePost(ctx, b.SourceID)
		if err != nil {
			return nil, aud, err
		}
		w.prepared.put(key, p)
		return p, aud, nil
	}
	return nil, audience{}, fmt.Errorf("unknown delivery kind %q: %w", b.Kind, asynq.SkipRetry)
}

func (w *Worker) preparePost(ctx context.Context, postID int64) (*mail.Prepared, error) {
	post, err := w.DB.Post(ctx, postID)
	if err != nil {
		return nil, err
	}
	unsubscribe := w.Links.URL(links.Unsubscribe, marketingPlaceholders[0])
	r, err := w.Templates.Post(templates.PostEmail{
		Practice:    w.Practice.Name,
		BaseURL:     w.Practice.BaseURL,
		Title:       post.Title,
		Author:      post.Author,
		Date:        firstNonZero(post.Published, post.CreatedAt),
		TimeZone:    w.Practice.TimeZone,
		ContentHTML: template.HTML(post.Content), // sanitised by feeds when it was stored
		Summary:     post.Summary,
		PostURL:     post.URL,
		Full:        post.Content != "",
		Footer:      w.marketingFooter(unsubscribe),
	})
	if err != nil {
		return nil, fmt.Errorf("render post %d: %w", postID, err)
	}
	return mail.Prepare(w.content(r, unsubscribe, store.TopicPosts), marketingPlaceholders)
}

func (w *Worker) marketingFooter(unsubscribeURL string) templates.Footer {
	return templates.Footer{
		PracticeName:   w.Practice.Name,
		PostalAddress:  w.Practice.PostalAddress,
		UnsubscribeURL: unsubscribeURL,
		PreferencesURL: w.Links.URL(links.Preferences, marketingPlaceholders[1]),
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
func (w *Worker) recipient(b store.BatchRef, c store.Claimed, name string) mail.Recipient {
	return mail.Recipient{
		Address:   c.Recipient,
		Name:      name,
		MessageID: fmt.Sprintf("d%d.%s%d.%s", c.ID, b.Kind, b.SourceID, w.Instance),
		Values: []string{
			w.Links.Token(links.Unsubscribe, c.SubscriberID),
			w.Links.Token(links.Preferences, c.SubscriberID),
		},
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
// sender, and the domain of our Message-IDs (as mail.Prepare uses it).
func (w *Worker) fromAddress() string {
	if a, err := netmail.ParseAddress(w.Practice.From); err == nil {
		return a.Address
	}
	return w.Practice.From
}

// messageID is the Message-ID the mail package writes for rcpt.
func messageID(rcpt mail.Recipient, from string) string {
	_, domain, _ := strings.Cut(from, "@")
	return "<" + rcpt.MessageID + "@" + domain + ">"
}
