package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Ledger kinds of the emails the public sign-up form sends: one row per
// request that sends an email (and one signups row, which says whose
// request it was and when). Their source is the second the request came
// in, as a number of signupWindows since 1970: the requests of one second
// share one batch, so that one claim, one lease and one release serve all
// of them, as they do a post's page of recipients. A batch never holds one
// address twice: a second request for it within ResendAfter sends nothing.
const (
	KindConfirm = "confirm" // the double opt-in request; source: the window of the request
	KindAlready = "already" // "you are already subscribed"; source: the window of the request
)

// signupWindow is how long the sign-up form's requests gather in one batch.
const signupWindow = time.Second

// SignupBatchEnd is when the window whose requests batch b gathers is
// over, and false for a batch that is not the sign-up form's: once the
// requests of the window are committed, one send of the batch serves them
// all.
func SignupBatchEnd(b BatchRef) (time.Time, bool) {
	if b.Kind != KindConfirm && b.Kind != KindAlready {
		return time.Time{}, false
	}
	return time.UnixMilli((b.SourceID + 1) * signupWindow.Milliseconds()).UTC(), true
}

// ResendAfter is how long after one email from the sign-up form a repeated
// request for the same address sends nothing: a form submitted again and
// again, by the person or by someone else, costs their inbox one message
// per ten minutes at most.
const ResendAfter = 10 * time.Minute

// What RequestSignup did.
const (
	SignupConfirm   = "confirm"   // a confirmation email is queued
	SignupAlready   = "already"   // the person is subscribed: an "already subscribed" email is queued
	SignupThrottled = "throttled" // an email from the form went to them less than ResendAfter ago: nothing
	SignupRefused   = "refused"   // the address bounced or its owner complained: nothing, ever
)

// SignupRequest is a request from the public sign-up form.
type SignupRequest struct {
	Email, Name string   // as typed; normalised and cleaned here
	Topics      []string // default: posts
	TimeZone    string
	Source      string // how the form was reached: "form", "snippet", "json"
	PageURL     string // the page the form was on, if known
	IP          string // the client's address, only when privacy.record_ip is on
}

// SignupResult says what RequestSignup did and which ledger batch to
// enqueue (Batch.Batch is 0 when nothing was queued): the batch of the
// request's window, which other requests may share; see SignupBatchEnd.
type SignupResult struct {
	Outcome string
	Batch   BatchRef
}

// RequestSignup records a request from the public form and queues the email
// it calls for, in one transaction:
//
//   - someone new, pending, unsubscribed or erased becomes (or stays)
//     pending with the topics asked for, and gets a confirmation email: only
//     their click makes them active;
//   - someone active gets an "already subscribed" email, and nothing about
//     them changes: a form anyone can fill in must not change what a
//     subscriber receives;
//   - a bounced address, or one whose owner complained, gets nothing;
//   - anyone mailed from the form less than ResendAfter ago gets nothing
//     more.
//
// Requests arriving together share that transaction (signup_group.go); each
// has a savepoint of its own, so one request's error is its own.
//
// The caller answers the same page whatever happened.
func (db *DB) RequestSignup(ctx context.Context, r SignupRequest) (SignupResult, error) {
	n := NewSubscriber{Email: r.Email, Name: r.Name, Topics: r.Topics, TimeZone: r.TimeZone, ConsentSource: r.Source}
	if err := n.check(); err != nil {
		return SignupResult{}, err
	}
	res, err := db.signupInGroup(ctx, &signupCall{n: n, page: CleanName(r.PageURL), ip: CleanName(r.IP), done: make(chan struct{})})
	if err != nil {
		return SignupResult{}, fmt.Errorf("sign up: %w", err)
	}
	return res, nil
}

// signup is one request of RequestSignup, in tx.
func (tx *Tx) signup(ctx context.Context, n NewSubscriber, page, ip string) (SignupResult, error) {
	db := tx.db
	id, status, created, err := tx.pendingSubscriber(ctx, n, db.nowMS())
	if err != nil {
		return SignupResult{}, err
	}
	kind := KindConfirm
	switch status {
	case StatusBounced, StatusComplained:
		return SignupResult{Outcome: SignupRefused}, nil
	case StatusActive:
		kind = KindAlready
	}
	var last sql.NullInt64
	if !created { // someone just added has had nothing from the form
		if err := tx.scanPrepared(ctx, `SELECT MAX(created_at) FROM signups WHERE subscriber_id = ?`, []any{id}, &last); err != nil {
			return SignupResult{}, err
		}
	}
	now := db.nowMS()
	if last.Valid && now-last.Int64 < ResendAfter.Milliseconds() {
		return SignupResult{Outcome: SignupThrottled}, nil
	}
	if _, err := tx.execPrepared(ctx, `INSERT INTO signups (subscriber_id, kind, source, page_url, ip, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, kind, n.ConsentSource, page, ip, now); err != nil {
		return SignupResult{}, err
	}
	window := now / signupWindow.Milliseconds()
	if _, err := tx.execPrepared(ctx, `INSERT INTO deliveries (kind, source_id, recipient, subscriber_id, batch, state, created_at)
		VALUES (?, ?, ?, ?, 1, 'queued', ?)`, kind, window, n.Email, id, now); err != nil {
		return SignupResult{}, err
	}
	return SignupResult{Outcome: kind, Batch: BatchRef{Kind: kind, SourceID: window, Batch: 1}}, nil
}

// pendingSubscriber finds n's subscriber, or adds them as pending, and
// returns their id and status, and whether it added them. Someone not
// active (pending, or unsubscribed and asking again) becomes pending with
// n's topics, name and time zone: what their confirmation will confirm.
// Someone active, bounced or complained is left as they are.
func (tx *Tx) pendingSubscriber(ctx context.Context, n NewSubscriber, now int64) (id int64, status string, created bool, err error) {
	err = tx.scanPrepared(ctx, `SELECT id, status FROM subscribers WHERE email = ?`, []any{n.Email}, &id, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = tx.scanPrepared(ctx, `INSERT INTO subscribers (email, name, status, time_zone, consent_source, created_at, updated_at)
			VALUES (?, ?, 'pending', ?, ?, ?, ?) RETURNING id`, []any{n.Email, n.Name, n.TimeZone, n.ConsentSource, now, now}, &id)
		status, created = StatusPending, true
	case err == nil && (status == StatusPending || status == StatusUnsubscribed):
		_, err = tx.exec(ctx, `UPDATE subscribers SET status = 'pending', updated_at = ?,
			name = CASE WHEN ? <> '' THEN ? ELSE name END,
			time_zone = CASE WHEN ? <> '' THEN ? ELSE time_zone END
			WHERE id = ?`, now, n.Name, n.Name, n.TimeZone, n.TimeZone, id)
		if err == nil {
			_, err = tx.exec(ctx, `DELETE FROM subscriber_topics WHERE subscriber_id = ?`, id)
		}
		status = StatusPending
	default:
		return id, status, false, err // active, bounced, complained: unchanged
	}
	if err != nil {
		return 0, "", false, err
	}
	for _, t := range n.Topics {
		if _, err := tx.execPrepared(ctx, `INSERT INTO subscriber_topics (topic, subscriber_id) VALUES (?, ?)
			ON CONFLICT DO NOTHING`, t, id); err != nil {
			return 0, "", false, err
		}
	}
	return id, status, created, nil
}

// ConfirmResult is what ConfirmSubscriber found.
type ConfirmResult string

// ConfirmSubscriber's results.
const (
	Confirmed        ConfirmResult = "confirmed" // pending until this call, active now
	AlreadyConfirmed ConfirmResult = "already"   // active before this call
	ConfirmGone      ConfirmResult = "gone"      // unknown, erased, unsubscribed, bounced or complained since
)

// ConfirmSubscriber makes a pending subscriber active: their click on the
// confirmation link is their consent, recorded with the time and the source,
// page and (if kept) address of the request that sent the link. A click on
// an older link of someone who has since left does not bring them back.
func (db *DB) ConfirmSubscriber(ctx context.Context, id int64) (ConfirmResult, error) {
	out := ConfirmGone
	err := db.tx(ctx, func(tx *Tx) error {
		var status string
		var erased sql.NullInt64
		err := tx.queryRow(ctx, `SELECT status, erased_at FROM subscribers WHERE id = ?`, id).Scan(&status, &erased)
		if errors.Is(err, sql.ErrNoRows) || erased.Valid {
			return nil
		}
		if err != nil {
			return err
		}
		switch status {
		case StatusActive:
			out = AlreadyConfirmed
			return nil
		case StatusPending:
		default:
			return nil
		}
		now := db.nowMS()
		if _, err := tx.exec(ctx, `UPDATE subscribers SET status = 'active', confirmed_at = ?, consent_at = ?, updated_at = ?,
			consent_source = COALESCE((SELECT source FROM signups WHERE subscriber_id = ? AND kind = 'confirm' ORDER BY id DESC LIMIT 1), consent_source),
			consent_page = COALESCE((SELECT page_url FROM signups WHERE subscriber_id = ? AND kind = 'confirm' ORDER BY id DESC LIMIT 1), ''),
			consent_ip = COALESCE((SELECT ip FROM signups WHERE subscriber_id = ? AND kind = 'confirm' ORDER BY id DESC LIMIT 1), '')
			WHERE id = ? AND status = 'pending'`, now, now, now, id, id, id, id); err != nil {
			return err
		}
		if err := tx.forgetErasure(ctx, id); err != nil {
			return err
		}
		out = Confirmed
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("confirm subscriber %d: %w", id, err)
	}
	return out, nil
}

// SubscriberByID returns the subscriber with that id, or ErrNotFound for an
// unknown id or an erased person.
func (db *DB) SubscriberByID(ctx context.Context, id int64) (*Subscriber, error) {
	subs, err := db.subscribers(ctx, `WHERE s.id = ? AND s.erased_at IS NULL`, id)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, fmt.Errorf("subscriber %d: %w", id, ErrNotFound)
	}
	return &subs[0], nil
}

// Unsubscribe stops all mail to a subscriber who is active or pending, at
// once; anyone else is left as they are. It returns ErrNotFound for an
// unknown id or an erased person. Calling it again changes nothing.
func (db *DB) Unsubscribe(ctx context.Context, id int64) error {
	now := db.nowMS()
	res, err := db.exec(ctx, `UPDATE subscribers SET
		status = CASE WHEN status IN ('active', 'pending') THEN 'unsubscribed' ELSE status END,
		unsubscribed_at = CASE WHEN status IN ('active', 'pending') THEN ? ELSE unsubscribed_at END,
		updated_at = ?
		WHERE id = ? AND erased_at IS NULL`, now, now, id)
	if err != nil {
		return fmt.Errorf("unsubscribe %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("unsubscribe %d: %w", id, ErrNotFound)
	}
	return nil
}

// SetTopics replaces what an active or pending subscriber hears about. No
// topics at all is leaving everything: Unsubscribe. Someone who has left is
// not brought back by it (that takes a new confirmation): their topics are
// kept as they were, and ErrNotSubscribed says why.
func (db *DB) SetTopics(ctx context.Context, id int64, topics []string) error {
	if len(topics) == 0 {
		return db.Unsubscribe(ctx, id)
	}
	if err := CheckTopics(topics); err != nil {
		return err
	}
	err := db.tx(ctx, func(tx *Tx) error {
		var status string
		err := tx.queryRow(ctx, `SELECT status FROM subscribers WHERE id = ? AND erased_at IS NULL`, id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if status != StatusActive && status != StatusPending {
			return ErrNotSubscribed
		}
		if _, err := tx.exec(ctx, `DELETE FROM subscriber_topics WHERE subscriber_id = ?`, id); err != nil {
			return err
		}
		for _, t := range topics {
			if _, err := tx.exec(ctx, `INSERT INTO subscriber_topics (topic, subscriber_id) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, t, id); err != nil {
				return err
			}
		}
		_, err = tx.exec(ctx, `UPDATE subscribers SET updated_at = ? WHERE id = ?`, db.nowMS(), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("set topics of %d: %w", id, err)
	}
	return nil
}

// ErrNotSubscribed is returned by SetTopics for someone who has left.
var ErrNotSubscribed = errors.New("not subscribed")

// EligibleStatus returns, of the given subscribers, those whose status is
// status now, with their names: who a confirmation (pending) or an "already
// subscribed" email (active) may still go to at send time.
func (db *DB) EligibleStatus(ctx context.Context, status string, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		list, args := inList(ids[:n])
		rows, err := db.query(ctx, `SELECT s.id, s.name FROM subscribers s
			WHERE s.status = ? AND s.erased_at IS NULL AND s.id IN `+list, append([]any{status}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("check eligibility: %w", err)
		}
		if err := scanEligible(rows, out); err != nil {
			return nil, fmt.Errorf("check eligibility: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}
