package worker

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/sequences"
)

// TypeInquiry is the task that turns a saved inquiry into the practice's
// notification and the person's sequence. Its payload is the inquiry id
// only: the message never enters Redis.
const TypeInquiry = "inquiry:received"

// InquirySequence is the sequence an inquiry enrolls its contact in.
const InquirySequence = "inquiry"

// Inquiries is what the inquiry tasks need; its zero value leaves them
// unable to run (the inquiry routes are off).
type Inquiries struct {
	// Opener opens sealed messages (internal/seal.Sealer) for the
	// practice's notification.
	Opener Opener
	// Sequences are those of sequences.dir (sequences.LoadDir);
	// InquirySequence is the one an inquiry starts. Without it an inquiry
	// only notifies the practice.
	Sequences sequences.Set
	// NotifyEmail is practice.notify_email, where notifications go.
	NotifyEmail string
	// BookingURL is practice.booking_url, in every sequence email.
	BookingURL string
	// NotifyRefused is why the mail transport may not carry a
	// notification (NotifyTransport); empty when it may. A notification
	// refused is failed with this reason, never sent.
	NotifyRefused string
}

// Opener opens what a store.Sealer sealed.
type Opener interface {
	Open(sealed, ad []byte) ([]byte, error)
}

// NotifyTransport says why mail sent with smtp.url smtpURL and smtp.tls
// policy may not carry a notification, which holds what a person wrote
// on a hard night: only verified TLS may (tls mandatory, or an smtps URL),
// or plaintext to a loopback server (development), or the outbox (no URL).
// It returns "" when the transport may.
func NotifyTransport(smtpURL, policy string) string {
	if smtpURL == "" {
		return ""
	}
	u, err := url.Parse(smtpURL)
	if err != nil {
		return "smtp.url cannot be parsed"
	}
	host := u.Hostname()
	loopback := host == "localhost" || net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback()
	switch {
	case u.Scheme == "smtps", policy == "" || policy == mail.TLSMandatory:
		return ""
	case policy == mail.TLSNone && loopback:
		return ""
	}
	return fmt.Sprintf("inquiry notifications are sent only over verified TLS: smtp.tls is %q; set smtp.tls: mandatory", policy)
}

// InquiryPayload names the inquiry: its id, nothing of what it says.
type InquiryPayload struct {
	InquiryID int64 `json:"inquiry_id"`
}

// NewInquiryTask returns the task processing inquiry id.
func NewInquiryTask(ns string, id int64) *asynq.Task {
	return newInquiryTask(ns, id, "")
}

func newInquiryTask(ns string, id int64, round string) *asynq.Task {
	return asynq.NewTask(TypeInquiry, mustJSON(InquiryPayload{InquiryID: id}),
		asynq.TaskID(withRound(inquiryTaskID(ns, id), round)),
		asynq.Queue(QueueControl), asynq.MaxRetry(25), asynq.Retention(retention), asynq.Timeout(time.Minute))
}

func inquiryTaskID(ns string, id int64) string { return scoped(ns, fmt.Sprintf("inquiry:%d", id)) }

// EnqueueInquiry enqueues the processing of inquiry id, already saved
// (store.SaveInquiry): the web's inquiry form calls it. A failed enqueue
// loses nothing: the reconciler finds inquiries not yet processed.
func (w *Worker) EnqueueInquiry(ctx context.Context, id int64) error {
	return w.enqueue(ctx, NewInquiryTask(w.Instance, id))
}

// handleInquiry marks the inquiry processed, queues the notification,
// enrolls the contact and schedules their steps, in one transaction, then
// enqueues the sends. Run again, it does nothing: what it enqueued and
// lost, the reconciler enqueues.
func (w *Worker) handleInquiry(ctx context.Context, t *asynq.Task) error {
	var p InquiryPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	work := store.InquiryWork{InquiryID: p.InquiryID, NotifyEmail: w.Inquiries.NotifyEmail}
	if seq := w.Inquiries.Sequences[InquirySequence]; seq != nil {
		work.Sequence = enrollmentOf(seq)
		work.Due = func(i int, start time.Time, tz string) time.Time {
			return seq.SendAt(i, start, w.zone(tz)).UTC()
		}
	}
	res, err := w.DB.ProcessInquiry(ctx, work)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("inquiry %d: %w: %w", p.InquiryID, err, asynq.SkipRetry)
	}
	if err != nil || res.Already {
		return err
	}
	if res.Notify.Kind != "" {
		if err := w.enqueue(ctx, NewDeliverTask(w.Instance, res.Notify, "")); err != nil {
			return err
		}
	}
	for _, s := range res.Steps {
		if err := w.enqueueStep(ctx, s, ""); err != nil {
			return err
		}
	}
	w.Log.Info("inquiry_processed", "inquiry_id", p.InquiryID, "enrollment_id", res.EnrollmentID,
		"enrolled", res.Enrolled, "steps", len(res.Steps), "notified", res.Notify.Kind != "")
	return nil
}

// enrollmentOf is seq as an enrollment keeps it.
func enrollmentOf(seq *sequences.Sequence) store.NewEnrollment {
	e := store.NewEnrollment{Sequence: seq.Name, Version: seq.Version}
	for i, st := range seq.Steps {
		e.Steps = append(e.Steps, store.SequenceStep{Step: i, After: st.After, Template: st.Template, Subject: st.Subject, Preview: st.Preview})
	}
	return e
}

// zone is the time zone named tz, else the practice's.
func (w *Worker) zone(tz string) *time.Location {
	if tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc
		}
	}
	if w.Practice.TimeZone != nil {
		return w.Practice.TimeZone
	}
	return time.UTC
}

// notifyAudience: the notification goes to the practice, over a transport
// that may carry it.
var notifyAudience = audience{check: (*Worker).checkNotify, uncached: true}

func (w *Worker) checkNotify(context.Context, store.BatchRef) (verdict, error) {
	if r := w.Inquiries.NotifyRefused; r != "" {
		return verdict{State: store.DeliveryFailed, Reason: r}, nil
	}
	return verdict{OK: true}, nil
}

// prepareNotify renders the practice's notification of inquiry id: the
// opened message, the person's name, address, phone and preferred time.
// Its subject begins "URGENT:" when the message reads as a crisis. It is
// never cached, and its text goes nowhere but into the message.
func (w *Worker) prepareNotify(ctx context.Context, id int64) (*mail.Prepared, error) {
	q, err := w.DB.Inquiry(ctx, id)
	if err != nil {
		return nil, err
	}
	if w.Inquiries.Opener == nil {
		return nil, fmt.Errorf("inquiry %d: no key to open the message (secrets.data_key): %w", id, asynq.SkipRetry)
	}
	message, preferred := "(deleted after the retention period)", ""
	if q.Message != nil {
		b, err := w.Inquiries.Opener.Open(q.Message, store.InquiryAD(id, store.FieldMessage))
		if err != nil {
			return nil, fmt.Errorf("inquiry %d: the message does not open with the configured keys: %w", id, asynq.SkipRetry)
		}
		message = string(b)
	}
	if q.PreferredTime != nil {
		if b, err := w.Inquiries.Opener.Open(q.PreferredTime, store.InquiryAD(id, store.FieldPreferredTime)); err == nil {
			preferred = string(b)
		}
	}
	subject := "New inquiry"
	if q.Urgent {
		subject = "URGENT: New inquiry"
	}
	text := notifyText(q, message, preferred)
	c := mail.Content{From: w.Practice.From, ReplyTo: q.Contact.Email, Subject: subject, Text: text,
		HTML: "<pre style=\"white-space:pre-wrap;font-family:inherit\">" + html.EscapeString(text) + "</pre>"}
	p, err := mail.Prepare(c, nil)
	if err != nil {
		return nil, fmt.Errorf("inquiry %d: notification: %w: %w", id, errors.New("cannot be built"), asynq.SkipRetry)
	}
	return p, nil
}

// notifyText is the notification's text.
func notifyText(q *store.Inquiry, message, preferred string) string {
	var b strings.Builder
	if q.Urgent {
		b.WriteString("This message contains words that may mean a crisis. Please read it first.\n\n")
	}
	fmt.Fprintf(&b, "Name: %s\nEmail: %s\n", q.Contact.Name, q.Contact.Email)
	if q.Contact.Phone != "" {
		fmt.Fprintf(&b, "Phone: %s\n", q.Contact.Phone)
	}
	if preferred != "" {
		fmt.Fprintf(&b, "Preferred contact time: %s\n", preferred)
	}
	if q.Contact.TimeZone != "" {
		fmt.Fprintf(&b, "Time zone: %s\n", q.Contact.TimeZone)
	}
	fmt.Fprintf(&b, "Received: %s\nInquiry: %d\n\n%s\n", q.CreatedAt.Format(time.RFC1123Z), q.ID, message)
	return b.String()
}
