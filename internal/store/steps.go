package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// StepEligibility is what ContactEligibleForStep found: whether the step
// may go, and if not why; if so, who to.
type StepEligibility struct {
	OK bool
	// Reason is why not: the contact's status (booked, replied, stopped,
	// unsubscribed, bounced, erased), "no_consent", or the enrollment's
	// state ("stopped", "done"). Empty when OK.
	Reason  string
	Contact Contact
}

// Reasons a step may not go besides a contact status.
const (
	NotEligibleNoConsent = "no_consent"
)

// ContactEligibleForStep is the send-time check of a sequence step: the
// enrollment must be active and its contact active. Step 0 (the
// acknowledgement, an answer to what they asked) goes without consent to
// follow-ups; every later step needs it. ErrNotFound for no such
// enrollment.
func (db *DB) ContactEligibleForStep(ctx context.Context, enrollmentID int64, step int) (StepEligibility, error) {
	var out StepEligibility
	var state string
	c := &out.Contact
	err := db.queryRow(ctx, `SELECT e.state, c.id, c.email, c.name, c.phone, c.time_zone, c.consent, c.status
		FROM enrollments e JOIN contacts c ON c.id = e.contact_id WHERE e.id = ?`, enrollmentID).Scan(
		&state, &c.ID, &c.Email, &c.Name, &c.Phone, &c.TimeZone, &c.Consent, &c.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("check step %d of enrollment %d: %w", step, enrollmentID, ErrNotFound)
	}
	if err != nil {
		return out, fmt.Errorf("check step %d of enrollment %d: %w", step, enrollmentID, err)
	}
	switch {
	case c.Status != ContactActive:
		out.Reason = c.Status
	case state != EnrollmentActive:
		out.Reason = state
	case step > 0 && !c.Consent:
		out.Reason = NotEligibleNoConsent
	default:
		out.OK = true
	}
	return out, nil
}

// Webhook event sources, the keys RecordWebhookEvent deduplicates by.
const (
	WebhookBooking  = "booking"  // key: hex SHA-256 of the raw body
	WebhookCalendly = "calendly" // key: payload.uri
	WebhookCalcom   = "calcom"   // key: payload.uid (and the trigger, if one uid carries several events)
)

// RecordWebhookEvent records the event key of source and reports whether
// it is new: false means the same delivery came before and must change
// nothing (Calendly retries for a day). Act on the event first, then
// record it: what it does (StopEnrollments) may safely happen twice, but a
// delivery recorded and then not acted on, the process killed between
// the two, would be lost, its retry answered as seen.
func (db *DB) RecordWebhookEvent(ctx context.Context, source, key string) (bool, error) {
	if source == "" || key == "" {
		return false, errors.New("record webhook event: empty source or key")
	}
	res, err := db.exec(ctx, `INSERT INTO webhook_events (source, event_key, received_at) VALUES (?, ?, ?)
		ON CONFLICT (source, event_key) DO NOTHING`, source, key, db.nowMS())
	if err != nil {
		return false, fmt.Errorf("record webhook event: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record webhook event: %w", err)
	}
	return n == 1, nil
}
