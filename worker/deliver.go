package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
)

// errLeaseLost stops a sender whose rows may now belong to someone else.
var errLeaseLost = errors.New("lease on the batch lost")

// errStopping stops a sender when the process is shutting down (Stop).
var errStopping = errors.New("shutting down")

// handleDeliver sends one batch of ledger rows. It leases the rows that are
// due, re-checks each recipient at send time, sends, and records each outcome
// the moment the server answers, while it still holds the lease. Rows it could
// not send go back to the queue, and a task for the batch's next round is
// scheduled at their earliest retry time.
func (w *Worker) handleDeliver(ctx context.Context, t *asynq.Task) error {
	var p DeliverPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	b := store.BatchRef{Kind: p.Kind, SourceID: p.Source, Batch: p.Batch}
	msg, aud, err := w.prepare(ctx, b)
	if err != nil {
		return err
	}
	// While outcomes cannot be written, claim nothing: the rows would be
	// sent and not recorded.
	if err := w.ledger.wait(ctx, w.stopping); err != nil {
		return err
	}
	owner := w.identity.owner()
	l := newLease(w.DB, b, owner, w.Options.Lease)
	l.quiet = w.ledger.down.Load // one outage, logged once
	if w.renewHook != nil {
		l.renew = w.renewHook
	}
	rows, err := w.DB.Claim(ctx, b, owner, l.until())
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		// Renewals go on while the last message finishes and its outcome
		// is written, even once the task is cancelled.
		stop := l.keep(context.WithoutCancel(ctx), w.Log)
		s := &batchSend{w: w, b: b, owner: owner, lease: l, msg: msg, aud: aud, from: w.fromAddress()}
		sendErr := s.run(ctx, rows)
		// The last outcome must be written before the lease is released:
		// the release would otherwise return its row to the queue. If it
		// failed, the guard writes it under this lease once it can.
		if err := s.settle(); err != nil {
			if errors.Is(err, errLedgerDown) {
				err = w.ledger.wait(ctx, w.stopping)
			}
			if err != nil && sendErr == nil {
				sendErr = err
			}
		}
		stop()
		// Whatever was not sent goes back, also when we are shutting down.
		next := time.Time{}
		if s.sent > 0 {
			// The server took messages: whatever failed after, it is not
			// an outage that has lasted since before them.
			w.outageSince.Store(0)
		}
		if s.connDown != nil {
			wait := w.outageBackoff()
			next = w.now().Add(wait)
			w.Log.Warn(outageLabel(s.connDown), "kind", b.Kind, "source", b.SourceID, "batch", b.Batch,
				"error", s.connDown.Error(), "retry_in", wait.String())
		}
		if _, err := w.DB.ReleaseLease(context.WithoutCancel(ctx), b, owner, next); err != nil {
			return err
		}
		w.Log.Info("batch_sent", "kind", b.Kind, "source", b.SourceID, "batch", b.Batch,
			"sent", s.sent, "retry", s.retry, "failed", s.failed, "suppressed", s.suppressed, "unknown", s.unknown)
		if sendErr != nil && !errors.Is(sendErr, errLeaseLost) && !errors.Is(sendErr, errStopping) {
			return sendErr
		}
	}
	return w.scheduleNextRound(context.WithoutCancel(ctx), b)
}

// scheduleNextRound enqueues the batch again for its queued rows, at the
// earliest time one is due. Each round has its own task ID.
func (w *Worker) scheduleNextRound(ctx context.Context, b store.BatchRef) error {
	due, ok, err := w.DB.BatchDue(ctx, b)
	if err != nil || !ok {
		return err
	}
	// asynq keeps schedule times in whole seconds and releases a task up to a
	// second early: round up, or the round finds nothing due yet. The ID
	// carries the time it is made at, so it never collides with the round
	// that is scheduling it.
	due = wholeSecondAfter(due)
	id := fmt.Sprintf("r%d.%d", due.Unix(), w.now().UnixMilli())
	return w.enqueue(ctx, NewDeliverTask(w.Instance, b, id), asynq.ProcessAt(due))
}

// wholeSecondAfter rounds t up to a whole second.
func wholeSecondAfter(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// batchSend is one run over the claimed rows of a batch.
type batchSend struct {
	w     *Worker
	b     store.BatchRef
	owner string
	lease *lease
	msg   *mail.Prepared
	aud   audience
	from  string // envelope sender

	eligible  map[int64]string // who may still be mailed, with their names
	haltWhy   string           // why the rest of the batch must not go (audience.halt)
	haltAt    time.Time        // when halt was last asked
	refused   verdict          // why not, from an audience's check
	checkedAt time.Time
	connDown  *mail.SendError // why the server takes nothing now (mail.SendError.ServerWide): stop and back off

	// last is the previous outcome, handed to the recorder and perhaps not
	// yet written; lastState is its state, counted once it is.
	last      *store.Recording
	lastState string

	sent, retry, failed, suppressed, unknown int
}

// eligibilityTTL is how stale the view of who may still be mailed may get.
const eligibilityTTL = time.Second

func (s *batchSend) run(ctx context.Context, rows []store.Claimed) error {
	for i := 0; i < len(rows); {
		err := s.next(ctx, rows[i:])
		if errors.Is(err, errLedgerDown) {
			// Nothing more goes out until outcomes can be written again;
			// then this row, which did not go, is tried again.
			if err := s.w.ledger.wait(ctx, s.w.stopping); err != nil {
				return err
			}
			continue
		}
		if err != nil || s.connDown != nil {
			// After a connection failure the row goes back with the rest,
			// its attempt not counted, so an outage fails nobody.
			return err
		}
		i++
	}
	return nil
}

// next sends rows[0], or records that its recipient left.
func (s *batchSend) next(ctx context.Context, rows []store.Claimed) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.w.stopping:
		return errStopping // the rest go back, and the next round is scheduled
	default:
	}
	if !s.lease.valid() {
		return errLeaseLost
	}
	if why, err := s.halted(ctx); err != nil || why != "" {
		if err != nil {
			return err
		}
		return s.record(store.Outcome{ID: rows[0].ID, State: store.DeliverySuppressed, Reply: store.HaltedReply + why}, false)
	}
	ok, err := s.isEligible(ctx, rows)
	if err != nil {
		return err
	}
	if !ok {
		o := store.Outcome{ID: rows[0].ID, State: store.DeliverySuppressed, Reply: "no longer subscribed at send time"}
		if s.refused.State != "" {
			o.State, o.Reply = s.refused.State, s.refused.Reason
		}
		return s.record(o, false)
	}
	return s.sendAndRecord(ctx, rows[0])
}

// sendAndRecord sends one row and hands its outcome to the recorder.
//
// Most of a send overlaps the writing of the previous outcome: the mail
// gate, after the server has taken the envelope and before the message and
// the end-of-data dot that lets the server accept it, waits for that write.
// From the gate until its own outcome is written the message holds one of
// the process's in-flight slots, so however many tasks send at once, a
// crash can leave at most Options.InFlight (= smtp.connections) messages
// sent but unrecorded.
func (s *batchSend) sendAndRecord(ctx context.Context, r store.Claimed) error {
	held := false
	var stopped error // why the gate refused
	gate := func(ctx context.Context) error {
		stopped = s.settle()
		if stopped == nil && !held {
			select {
			case s.w.inFlight <- struct{}{}:
				held = true
			case <-ctx.Done():
				stopped = ctx.Err()
			}
		}
		if stopped == nil && s.w.ledger.down.Load() {
			// An outcome failed to be written: checked once the slot is
			// ours, as the guard goes down before a failed outcome's slot
			// is freed.
			stopped = errLedgerDown
		}
		if stopped == nil && !s.lease.valid() { // the waits may have been long
			stopped = errLeaseLost
		}
		return stopped
	}
	o, err := s.send(ctx, r, gate)
	if stopped != nil {
		err = stopped // not sent
	}
	if err != nil || o.ID == 0 { // not sent, or the server takes nothing now
		if held {
			<-s.w.inFlight
		}
		return err
	}
	return s.record(o, held)
}

// record hands an outcome to the recorder, once the one before it is
// written: a sender has at most one outcome outstanding. If holdsSlot,
// the outcome's in-flight slot is freed once it is written. The outcome
// is written even if the task is cancelled, and only while the lease
// holds.
func (s *batchSend) record(o store.Outcome, holdsSlot bool) error {
	if err := s.settle(); err != nil {
		if holdsSlot {
			<-s.w.inFlight
		}
		return err
	}
	after := s.w.onWritten
	if holdsSlot {
		after = s.w.onWrittenFree
	}
	s.last, s.lastState = s.w.DB.RecordAsync(s.owner, o, after), o.State
	return nil
}

// settle waits until the outstanding outcome, if any, is written, and
// counts it. It reports errLeaseLost if the lease had been lost, in which
// case that outcome was not written, and errLedgerDown if the write
// failed, in which case the guard has the outcome to write again.
func (s *batchSend) settle() error {
	if s.last == nil {
		return nil
	}
	held, err := s.last.Wait(context.Background())
	s.last = nil
	if err != nil {
		s.count(s.lastState) // the guard writes it
		return downErr(err)
	}
	if !held {
		return errLeaseLost
	}
	s.count(s.lastState)
	return nil
}

// haltEvery is how often a sender asks its audience's halt: a campaign
// canceled while it sends stops within a second.
const haltEvery = 400 * time.Millisecond

// halted asks the audience's halt, when it has one and the last answer is
// older than haltEvery, and returns why the rest of the batch must not go.
func (s *batchSend) halted(ctx context.Context) (string, error) {
	if s.aud.halt == nil || s.haltWhy != "" || (!s.haltAt.IsZero() && s.w.now().Sub(s.haltAt) < haltEvery) {
		return s.haltWhy, nil
	}
	why, err := s.aud.halt(s.w, ctx, s.b)
	if err != nil {
		return "", err
	}
	s.haltWhy, s.haltAt = why, s.w.now()
	return why, nil
}

// isEligible reports whether rows[0]'s subscriber may still be mailed,
// refreshing the view for all remaining rows when it is stale.
func (s *batchSend) isEligible(ctx context.Context, rows []store.Claimed) (bool, error) {
	if s.aud.check != nil {
		return s.checkOne(ctx, rows[0])
	}
	if s.eligible == nil || s.w.now().Sub(s.checkedAt) > eligibilityTTL {
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.SubscriberID
		}
		el, err := s.aud.eligible(ctx, s.w.DB, ids)
		if err != nil {
			return false, err
		}
		s.eligible, s.checkedAt = el, s.w.now()
	}
	_, ok := s.eligible[rows[0].SubscriberID]
	return ok, nil
}

// checkOne asks the audience's check about r, the one row of its batch.
func (s *batchSend) checkOne(ctx context.Context, r store.Claimed) (bool, error) {
	v, err := s.aud.check(s.w, ctx, s.b)
	if err != nil {
		return false, err
	}
	s.eligible, s.refused = map[int64]string{}, v
	if v.OK {
		s.eligible[r.SubscriberID] = v.Name
	}
	return v.OK, nil
}

// send sends one row and says what became of it. The error is for failures
// that stop the batch (shutdown), not for the message's own fate. A task
// cancelled once the message's end-of-data dot is out still gets the
// server's verdict (see mail.Sender), and it is recorded like any other.
func (s *batchSend) send(ctx context.Context, r store.Claimed, gate mail.Gate) (store.Outcome, error) {
	rcpt := s.w.recipient(s.b, s.aud, r, s.eligible[r.SubscriberID])
	reply, err := s.w.Mail.SendReply(ctx, s.from, r.Recipient, s.msg, rcpt, gate)
	id := s.msg.MessageID(rcpt)
	if err == nil {
		return store.Outcome{ID: r.ID, State: store.DeliverySent, Reply: reply, MessageID: id}, nil
	}
	var se *mail.SendError
	if !errors.As(err, &se) {
		// Not a delivery failure: the message could not be built for this
		// recipient (a malformed address). Retrying will not help.
		return store.Outcome{ID: r.ID, State: store.DeliveryFailed, Reply: err.Error(), MessageID: id}, nil
	}
	if se.Permanent() {
		return store.Outcome{ID: r.ID, State: store.DeliveryFailed, Reply: se.Error(), MessageID: id, Bounce: true}, nil
	}
	if se.MaybeDelivered {
		s.connDown = se // the server stopped answering: the rest waits for it
		return s.unanswered(r, id, se), nil
	}
	if ctx.Err() != nil {
		return store.Outcome{}, ctx.Err() // shutting down mid-send: the row is released untried
	}
	if se.ServerWide() {
		s.connDown = se
		return store.Outcome{}, nil
	}
	if r.Attempts >= s.w.Options.MaxAttempts {
		return store.Outcome{ID: r.ID, State: store.DeliveryFailed, MessageID: id,
			Reply: fmt.Sprintf("gave up after %d attempts: %s", r.Attempts, se.Error())}, nil
	}
	next := s.w.now().Add(s.w.Options.backoff(r.Attempts))
	return store.Outcome{ID: r.ID, State: store.DeliveryQueued, Reply: se.Error(), MessageID: id, Next: next}, nil
}

// unanswered is the outcome of a message that went out without an answer
// to its final dot: the server may have taken it. Sent again once, it
// may arrive twice; sent again and again, it did (a server slower than our
// timeout got nine copies). So it goes back to the queue once, and the
// second time its outcome is unknown, for good.
func (s *batchSend) unanswered(r store.Claimed, id string, se *mail.SendError) store.Outcome {
	o := store.Outcome{ID: r.ID, MessageID: id, Unanswered: true, Reply: se.Error()}
	if r.Unanswered == 0 {
		o.State, o.Next = store.DeliveryQueued, s.w.DB.Now() // and the outage's wait, with the rest
		return o
	}
	o.State = store.DeliveryUnknown
	o.Reply = fmt.Sprintf("sent %d times and the server answered none: it may have been delivered, so it is not sent again (%s)",
		r.Unanswered+1, se.Error())
	s.w.Log.Warn("mail_outcome_unknown", "kind", s.b.Kind, "source", s.b.SourceID, "batch", s.b.Batch,
		"delivery", r.ID, "sends", r.Unanswered+1, "error", se.Error())
	return o
}

// outageLabel names what failed when the server takes nothing now: our
// TLS or our login (a setup problem), the server refusing, or no answer.
func outageLabel(se *mail.SendError) string {
	switch {
	case se.TLSFailed():
		return "mail_tls_failed"
	case se.AuthFailed():
		return "mail_auth_failed"
	case se.Code != 0:
		return "mail_server_refusing"
	}
	return "mail_server_unreachable"
}

// outageBackoff is how long to wait after the mail server could not be
// reached: half as long as it has been unreachable so far, between
// RetryBase and RetryMax. Every batch of the process shares the outage, so
// an hour-long one costs a few tries an hour, not one per batch per minute.
func (w *Worker) outageBackoff() time.Duration {
	now := w.now().UnixNano()
	w.outageSince.CompareAndSwap(0, now)
	down := time.Duration(now - w.outageSince.Load())
	return min(max(down/2, w.Options.RetryBase), w.Options.RetryMax)
}

func (s *batchSend) count(state string) {
	switch state {
	case store.DeliverySent:
		s.sent++
	case store.DeliveryQueued:
		s.retry++
	case store.DeliveryFailed:
		s.failed++
	case store.DeliverySuppressed:
		s.suppressed++
	case store.DeliveryUnknown:
		s.unknown++
	}
}
