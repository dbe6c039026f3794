package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
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

// ScheduleStep records that step of enrollment is due at due and returns
// the step's id: the source of its ledger row (KindStep) and a stable part
// of its task id. Scheduling a step again returns the same id and keeps the
// first due time, so a retried or reconciled scheduling never makes a
// second send.
func (db *DB) ScheduleStep(ctx context.Context, enrollmentID int64, step int, due time.Time) (int64, error) {
	var id int64
	err := db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO enrollment_steps (enrollment_id, step, due_at, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (enrollment_id, step) DO NOTHING`,
			enrollmentID, step, due.UnixMilli(), db.nowMS()); err != nil {
			return err
		}
		return tx.queryRow(ctx, `SELECT id FROM enrollment_steps WHERE enrollment_id = ? AND step = ?`,
			enrollmentID, step).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("schedule step %d of enrollment %d: %w", step, enrollmentID, err)
	}
	return id, nil
}
