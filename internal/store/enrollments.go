package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Enrollment states.
const (
	EnrollmentActive  = "active"
	EnrollmentDone    = "done"    // every step was sent or skipped
	EnrollmentStopped = "stopped" // stop_reason says why (a contact status)
)

// SequenceStep is one step of a sequence as an enrollment keeps it: the
// edition it started with, whatever the file says later.
type SequenceStep struct {
	Step     int           // index in the sequence, from 0
	After    time.Duration // since the enrollment started
	Template string
	Subject  string
	Preview  string // inbox preview text; may be empty
}

// stepJSON is SequenceStep as stored: after as a Go duration, readable.
type stepJSON struct {
	Step     int    `json:"step"`
	After    string `json:"after"`
	Template string `json:"template"`
	Subject  string `json:"subject"`
	Preview  string `json:"preview,omitempty"`
}

// NewEnrollment starts a contact in a sequence.
type NewEnrollment struct {
	ContactID int64
	Sequence  string // its name
	Version   string // names the edition, e.g. a hash of the file
	Steps     []SequenceStep
}

// Enrollment is a contact in a sequence.
type Enrollment struct {
	ID, ContactID int64
	Sequence      string
	Version       string
	Steps         []SequenceStep
	State         string
	StopReason    string
	StartedAt     time.Time
}

// ErrNotEnrollable is returned by Enroll for a contact who is not active
// (booked, replied, stopped, unsubscribed, bounced, erased) or unknown.
var ErrNotEnrollable = errors.New("contact is not active")

// Enroll starts the contact in the sequence, unless they are in it already:
// then it returns their active enrollment and created false, and nothing
// restarts. The partial unique index enrollments_one_active makes this hold
// between processes too: of two Enrolls at once, one inserts and the other
// finds its row.
func (db *DB) Enroll(ctx context.Context, n NewEnrollment) (e *Enrollment, created bool, err error) {
	steps := make([]stepJSON, len(n.Steps))
	for i, s := range n.Steps {
		steps[i] = stepJSON{Step: s.Step, After: s.After.String(), Template: s.Template, Subject: s.Subject, Preview: s.Preview}
	}
	snapshot, err := json.Marshal(steps)
	if err != nil {
		return nil, false, fmt.Errorf("enroll: %w", err)
	}
	var id int64
	err = db.tx(ctx, func(tx *Tx) error {
		var status string
		err := tx.queryRow(ctx, `SELECT status FROM contacts WHERE id = ?`, n.ContactID).Scan(&status)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if status != ContactActive {
			return ErrNotEnrollable
		}
		err = tx.queryRow(ctx, `INSERT INTO enrollments (contact_id, sequence, version, steps, state, started_at)
			VALUES (?, ?, ?, ?, 'active', ?)
			ON CONFLICT (contact_id, sequence) WHERE state = 'active' DO NOTHING RETURNING id`,
			n.ContactID, n.Sequence, n.Version, string(snapshot), db.nowMS()).Scan(&id)
		created = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("enroll contact %d in %s: %w", n.ContactID, n.Sequence, err)
	}
	if created {
		e, err = db.Enrollment(ctx, id)
	} else {
		e, err = db.activeEnrollment(ctx, n.ContactID, n.Sequence)
	}
	return e, created, err
}

const enrollmentColumns = `id, contact_id, sequence, version, steps, state, stop_reason, started_at`

// Enrollment returns enrollment id, or ErrNotFound.
func (db *DB) Enrollment(ctx context.Context, id int64) (*Enrollment, error) {
	return scanEnrollment(db.queryRow(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id = ?`, id))
}

// activeEnrollment returns the contact's active enrollment in sequence.
func (db *DB) activeEnrollment(ctx context.Context, contactID int64, sequence string) (*Enrollment, error) {
	return scanEnrollment(db.queryRow(ctx, `SELECT `+enrollmentColumns+` FROM enrollments
		WHERE contact_id = ? AND sequence = ? AND state = 'active'`, contactID, sequence))
}

func scanEnrollment(row *sql.Row) (*Enrollment, error) {
	var e Enrollment
	var steps string
	var at int64
	err := row.Scan(&e.ID, &e.ContactID, &e.Sequence, &e.Version, &steps, &e.State, &e.StopReason, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("enrollment: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("enrollment: %w", err)
	}
	var js []stepJSON
	if err := json.Unmarshal([]byte(steps), &js); err != nil {
		return nil, fmt.Errorf("enrollment %d: steps: %w", e.ID, err)
	}
	for _, s := range js {
		after, err := time.ParseDuration(s.After)
		if err != nil {
			return nil, fmt.Errorf("enrollment %d: step %d: %w", e.ID, s.Step, err)
		}
		e.Steps = append(e.Steps, SequenceStep{Step: s.Step, After: after, Template: s.Template, Subject: s.Subject, Preview: s.Preview})
	}
	e.StartedAt = time.UnixMilli(at).UTC()
	return &e, nil
}

// FinishEnrollment marks an active enrollment done: its last step is
// behind it. A stopped one stays stopped.
func (db *DB) FinishEnrollment(ctx context.Context, id int64) error {
	if _, err := db.exec(ctx, `UPDATE enrollments SET state = 'done', ended_at = ? WHERE id = ? AND state = 'active'`,
		db.nowMS(), id); err != nil {
		return fmt.Errorf("finish enrollment %d: %w", id, err)
	}
	return nil
}
