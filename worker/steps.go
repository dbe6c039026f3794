package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// TypeStep is the task of one scheduled sequence step, run at its due
// time: it writes the step's ledger row if the person may still be
// mailed, and enqueues its send.
const TypeStep = "sequence:step"

// StepPayload names a scheduled step (enrollment_steps.id).
type StepPayload struct {
	StepID int64 `json:"step_id"`
}

// NewStepTask returns the task of step s, with a task ID per (enrollment,
// step), to be processed at s.Due.
func NewStepTask(ns string, s store.ScheduledStep) *asynq.Task { return newStepTask(ns, s, "") }

func newStepTask(ns string, s store.ScheduledStep, round string) *asynq.Task {
	return asynq.NewTask(TypeStep, mustJSON(StepPayload{StepID: s.ID}),
		asynq.TaskID(withRound(stepTaskID(ns, s), round)),
		asynq.Queue(QueueControl), asynq.MaxRetry(25), asynq.Retention(retention), asynq.Timeout(time.Minute))
}

func stepTaskID(ns string, s store.ScheduledStep) string {
	return scoped(ns, fmt.Sprintf("step:%d:%d", s.EnrollmentID, s.Step))
}

// enqueueStep enqueues step s's task at its due time (rounded up to a
// whole second: asynq keeps whole seconds).
func (w *Worker) enqueueStep(ctx context.Context, s store.ScheduledStep, round string) error {
	var opts []asynq.Option
	if s.Due.After(w.now()) {
		opts = append(opts, asynq.ProcessAt(wholeSecondAfter(s.Due)))
	}
	return w.enqueue(ctx, newStepTask(w.Instance, s, round), opts...)
}

// handleStep queues a due step's send, or skips it for someone who may no
// longer be mailed (store.QueueStep); a step is queued once however often
// its task runs.
func (w *Worker) handleStep(ctx context.Context, t *asynq.Task) error {
	var p StepPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	q, err := w.DB.QueueStep(ctx, p.StepID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("step %d: %w: %w", p.StepID, err, asynq.SkipRetry)
	}
	if err != nil || q.Already {
		return err
	}
	if q.Batch.Kind == "" {
		w.Log.Info("step_skipped", "step_id", p.StepID, "reason", q.Reason)
		return nil
	}
	w.Log.Info("step_queued", "step_id", p.StepID)
	return w.enqueue(ctx, NewDeliverTask(w.Instance, q.Batch, ""))
}

// stepAudience: a step goes to its contact while their enrollment and
// they are active, checked again at send time.
var stepAudience = audience{check: (*Worker).checkStep, uncached: true}

// checkStep is the send-time check of a step's one row. A step queued as
// the enrollment's last ended it (done): that is not a stop.
func (w *Worker) checkStep(ctx context.Context, b store.BatchRef) (verdict, error) {
	m, err := w.DB.StepToSend(ctx, b.SourceID)
	if err != nil {
		return verdict{}, err
	}
	el, err := w.DB.ContactEligibleForStep(ctx, m.EnrollmentID, m.ScheduledStep.Step)
	if err != nil {
		return verdict{}, err
	}
	ok := el.OK || el.Reason == store.EnrollmentDone && (m.ScheduledStep.Step == 0 || el.Contact.Consent)
	if !ok {
		return verdict{State: store.DeliverySuppressed, Reason: "not to be mailed at send time: " + el.Reason}, nil
	}
	return verdict{OK: true, Name: el.Contact.Name}, nil
}

// prepareStep renders step id for its one person: their name, the booking
// link, crisis resources (the templates carry them), a List-Unsubscribe
// that stops their sequences (links.StopSequence, their contact id) and a
// Reply-To of the practice.
func (w *Worker) prepareStep(ctx context.Context, id int64) (*mail.Prepared, error) {
	m, err := w.DB.StepToSend(ctx, id)
	if err != nil {
		return nil, err
	}
	stop := w.Links.StopSequenceURL(m.Contact.ID)
	r, err := w.Templates.Render(m.Step.Template, templates.InquiryEmail{
		Practice:   w.Practice.Name,
		Name:       m.Contact.Name,
		BookingURL: w.Inquiries.BookingURL,
		Preview:    m.Step.Preview, // the enrollment's edition, as the subject
		Footer: templates.Footer{PracticeName: w.Practice.Name, PostalAddress: w.Practice.PostalAddress,
			UnsubscribeURL: stop, PreferencesURL: stop, Marketing: true},
	})
	if err != nil {
		return nil, fmt.Errorf("step %d: render %s: %w: %w", id, m.Step.Template, err, asynq.SkipRetry)
	}
	r.Subject = m.Step.Subject // the enrollment's edition of the sequence
	c := mail.Content{From: w.Practice.From, ReplyTo: firstNonZero(w.Practice.ReplyTo, w.fromAddress()),
		Subject: r.Subject, HTML: r.HTML, Text: r.Text,
		Headers: map[string]string{
			"List-Unsubscribe":      "<" + stop + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		}}
	return mail.Prepare(c, nil)
}

// stepHorizon is how far ahead the reconciler looks for step tasks that
// Redis lost: a step due later is left to a later pass, which re-creates
// its task before it falls due. It must exceed the time between passes
// (Scheduler.Reconcile, which is kept to half of it) and a pass's own
// length. Looking at every open step instead asked Redis about each one,
// twice, on every pass: with 10,000 people in the inquiry sequence, 40,000
// steps due over two weeks, each pass took some 1.5 s of CPU and as much
// of Redis's, every 30 s, to find nothing missing (make bench).
const stepHorizon = time.Hour

// reconcileInquiries enqueues the task of every inquiry not yet processed
// and of every open step due within stepHorizon whose task Redis does not
// hold (lost, or never enqueued after a crash), and returns how many it
// enqueued. Steps keep their due time.
func (w *Worker) reconcileInquiries(ctx context.Context, atStart bool) (int, error) {
	n := 0
	ids, err := w.DB.UnprocessedInquiries(ctx)
	if err != nil {
		return n, err
	}
	for _, id := range ids {
		since := w.now()
		if atStart {
			since = time.Time{}
		}
		added, err := w.ensure(ctx, inquiryTaskID(w.Instance, id), QueueControl, since, func(round string) *asynq.Task {
			return newInquiryTask(w.Instance, id, round)
		})
		if err != nil {
			return n, err
		}
		n += added
	}
	steps, err := w.DB.OpenSteps(ctx, w.now().Add(stepHorizon))
	if err != nil {
		return n, err
	}
	for _, s := range steps {
		since := s.Due
		if atStart && !since.After(w.now()) {
			since = time.Time{}
		}
		added, err := w.ensure(ctx, stepTaskID(w.Instance, s), QueueControl, since, func(round string) *asynq.Task {
			return newStepTask(w.Instance, s, round)
		})
		if err != nil {
			return n, err
		}
		n += added
	}
	return n, nil
}
