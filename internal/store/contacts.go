package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Contact statuses: active may get sequence steps; every other status is
// the reason they get no more.
const (
	ContactActive       = "active"
	ContactBooked       = "booked"       // a booking webhook said they booked
	ContactReplied      = "replied"      // they answered an email (mail ingest)
	ContactStopped      = "stopped"      // the therapist stopped them (inquiries stop)
	ContactUnsubscribed = "unsubscribed" // List-Unsubscribe or the unsubscribe page
	ContactBounced      = "bounced"      // their address bounced
	ContactErased       = "erased"       // inquiries erase: only an anonymised row is left
)

// StopReasons are the reasons StopEnrollments takes.
var StopReasons = []string{ContactBooked, ContactReplied, ContactStopped, ContactUnsubscribed, ContactBounced}

// stopRank orders statuses by how much they hold back: a stop never moves a
// contact to a status that holds back less. Someone unsubscribed who then
// books stays unsubscribed; someone booked who then replies is replied.
var stopRank = map[string]int{
	ContactActive: 0, ContactBooked: 1, ContactReplied: 1, ContactStopped: 1,
	ContactUnsubscribed: 2, ContactBounced: 2, ContactErased: 3,
}

// NewContact is the person of an inquiry, as they typed it.
type NewContact struct {
	Email, Name, Phone string
	TimeZone           string // an IANA name, checked by the caller; empty: the practice's
	Consent            bool   // yes to follow-up emails
	News               bool   // yes to hearing of openings and news (campaigns to inquirers:unbooked)
}

// upsertContact finds c's contact by email, or adds them as active, and
// returns their id and status. An existing contact takes the non-empty
// name, phone and time zone of the new inquiry and its consent answer (the
// latest answer is what they want now); their status is left alone: a
// second inquiry does not undo a booking, an unsubscribe or a stop.
func (tx *Tx) upsertContact(ctx context.Context, c NewContact, now int64) (id int64, status string, created bool, err error) {
	err = tx.queryRow(ctx, `SELECT id, status FROM contacts WHERE email = ?`, c.Email).Scan(&id, &status)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.queryRow(ctx, `INSERT INTO contacts (email, name, phone, time_zone, consent, news_consent, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?) RETURNING id`,
			c.Email, c.Name, c.Phone, c.TimeZone, boolInt(c.Consent), boolInt(c.News), now, now).Scan(&id)
		return id, ContactActive, true, err
	}
	if err != nil {
		return 0, "", false, err
	}
	_, err = tx.exec(ctx, `UPDATE contacts SET consent = ?, news_consent = ?, updated_at = ?,
		name = CASE WHEN ? <> '' THEN ? ELSE name END,
		phone = CASE WHEN ? <> '' THEN ? ELSE phone END,
		time_zone = CASE WHEN ? <> '' THEN ? ELSE time_zone END
		WHERE id = ?`, boolInt(c.Consent), boolInt(c.News), now, c.Name, c.Name, c.Phone, c.Phone, c.TimeZone, c.TimeZone, id)
	return id, status, false, err
}

// StopEnrollments stops every active enrollment of the contact with that
// address, for reason (one of StopReasons), and records the reason as
// their status unless they are already held back more (unsubscribed,
// bounced, erased). It returns how many enrollments it stopped. An address
// that is no contact is no error: 0 (webhooks answer the same for unknown
// people). Calling it again changes nothing more.
func (db *DB) StopEnrollments(ctx context.Context, email, reason string) (int, error) {
	if !contains(StopReasons, reason) {
		return 0, unknown("stop reason", reason, StopReasons)
	}
	e, err := NormalizeEmail(email)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.tx(ctx, func(tx *Tx) error {
		var id int64
		var status string
		err := tx.queryRow(ctx, `SELECT id, status FROM contacts WHERE email = ?`, e).Scan(&id, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		now := db.nowMS()
		if stopRank[reason] >= stopRank[status] {
			if _, err := tx.exec(ctx, `UPDATE contacts SET status = ?, updated_at = ? WHERE id = ?`, reason, now, id); err != nil {
				return err
			}
		}
		n, err = tx.stopEnrollments(ctx, id, reason, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("stop enrollments: %w", err)
	}
	return int(n), nil
}

// stopEnrollments ends contact id's active enrollments for reason.
func (tx *Tx) stopEnrollments(ctx context.Context, id int64, reason string, now int64) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE enrollments SET state = 'stopped', stop_reason = ?, ended_at = ?
		WHERE contact_id = ? AND state = 'active'`, reason, now, id)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// EraseContact forgets the contact with that address, in one transaction:
// their inquiries lose message and preferred time (message_deleted_at
// set), their enrollments stop (reason erased), their row is anonymised
// (email "erased:<id>", name, phone and time zone cleared, status erased)
// and their sequence sends in the ledger get the recipient
// "erased:contact:<id>". Who viewed which inquiry stays. ErrNotFound for
// an unknown or already erased address. Someone erased who writes again
// is a new contact.
func (db *DB) EraseContact(ctx context.Context, email string) error {
	e, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	err = db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ledger(ctx); err != nil { // folds: journalled replies are rewritten too
			return err
		}
		var id int64
		err := tx.queryRow(ctx, `SELECT id FROM contacts WHERE email = ?`, e).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return tx.eraseContact(ctx, id, e)
	})
	if err != nil {
		return fmt.Errorf("erase contact: %w", err)
	}
	return nil
}

// contactRows are a contact's ledger rows, by kind (step, campaign) and
// address: their steps, and campaigns to inquirers (no subscriber's).
const contactRows = `(kind = ? OR (kind = ? AND subscriber_id IS NULL)) AND recipient = ?`

// eraseContact does EraseContact's writes.
func (tx *Tx) eraseContact(ctx context.Context, id int64, email string) error {
	now := tx.db.nowMS()
	if _, err := tx.stopEnrollments(ctx, id, ContactErased, now); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	for _, s := range []struct {
		what, sql string
		args      []any
	}{
		{"messages", `UPDATE inquiries SET message = NULL, preferred_time = NULL,
			message_deleted_at = COALESCE(message_deleted_at, ?) WHERE contact_id = ?`, []any{now, id}},
		{"anonymise", `UPDATE contacts SET email = ?, name = '', phone = '', time_zone = '', consent = 0, news_consent = 0,
			status = 'erased', erased_at = ?, updated_at = ? WHERE id = ?`,
			[]any{fmt.Sprintf("%s%d", erasedPrefix, id), now, now, id}},
		{"replies", `UPDATE deliveries SET last_reply = ? WHERE ` + contactRows + `
			AND lower(last_reply) LIKE ? ESCAPE '\'`, []any{erasedReply, KindStep, KindCampaign, email, "%" + likeEscape(email) + "%"}},
		{"ledger", `UPDATE deliveries SET recipient = ? WHERE ` + contactRows,
			[]any{fmt.Sprintf("%scontact:%d", erasedPrefix, id), KindStep, KindCampaign, email}},
	} {
		if _, err := tx.exec(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
