package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// EnrollmentState is where one enrollment of a contact stands, as
// `inquiries list` shows it: no steps, no text.
type EnrollmentState struct {
	ID         int64
	Sequence   string
	State      string // EnrollmentActive, EnrollmentDone or EnrollmentStopped
	StopReason string // why it stopped: a contact status
	StartedAt  time.Time
}

// EnrollmentStates returns the contact's enrollments, oldest first; none
// for a contact never enrolled or unknown.
func (db *DB) EnrollmentStates(ctx context.Context, contactID int64) ([]EnrollmentState, error) {
	rows, err := db.query(ctx, `SELECT id, sequence, state, stop_reason, started_at FROM enrollments
		WHERE contact_id = ? ORDER BY id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("enrollments of contact %d: %w", contactID, err)
	}
	defer rows.Close()
	var out []EnrollmentState
	for rows.Next() {
		var e EnrollmentState
		var at int64
		if err := rows.Scan(&e.ID, &e.Sequence, &e.State, &e.StopReason, &at); err != nil {
			return nil, fmt.Errorf("enrollments of contact %d: %w", contactID, err)
		}
		e.StartedAt = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("enrollments of contact %d: %w", contactID, err)
	}
	return out, nil
}

// ContactByEmail returns the contact with that address, or ErrNotFound
// (also for an erased contact: their address is gone).
func (db *DB) ContactByEmail(ctx context.Context, email string) (*Contact, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	var c Contact
	err = db.queryRow(ctx, `SELECT id, email, name, phone, time_zone, consent, status FROM contacts WHERE email = ?`, e).Scan(
		&c.ID, &c.Email, &c.Name, &c.Phone, &c.TimeZone, &c.Consent, &c.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("contact %s: %w", e, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("contact %s: %w", e, err)
	}
	return &c, nil
}
