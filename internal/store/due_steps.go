package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// OpenSteps returns the scheduled steps due by dueBy whose task has not
// run (done_at unset), of active enrollments of active contacts, due
// first: the reconciler enqueues a task for each that Redis lost. It asks
// only about what falls due before its next pass or two, not about every
// step of every enrollment, due days and weeks away; the partial index
// enrollment_steps_open keeps the later ones unread.
func (db *DB) OpenSteps(ctx context.Context, dueBy time.Time) ([]ScheduledStep, error) {
	rows, err := db.query(ctx, `SELECT s.id, s.enrollment_id, s.step, s.due_at FROM enrollment_steps s
		JOIN enrollments e ON e.id = s.enrollment_id JOIN contacts c ON c.id = e.contact_id
		WHERE s.done_at IS NULL AND s.due_at <= ? AND e.state = 'active' AND c.status = 'active'
		ORDER BY s.due_at, s.id`, dueBy.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("open steps: %w", err)
	}
	defer rows.Close()
	var out []ScheduledStep
	for rows.Next() {
		var s ScheduledStep
		var due int64
		if err := rows.Scan(&s.ID, &s.EnrollmentID, &s.Step, &due); err != nil {
			return nil, fmt.Errorf("open steps: %w", err)
		}
		s.Due = time.UnixMilli(due).UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// StepMail is a scheduled step with what its email is made of: the step
// as its enrollment keeps it, and the contact.
type StepMail struct {
	ScheduledStep
	Done    bool         // its task has run
	Step    SequenceStep // from the enrollment's own edition of the sequence
	Contact Contact
}

// StepToSend returns scheduled step id (enrollment_steps.id); ErrNotFound
// for no such step, or a step its enrollment's edition does not have.
func (db *DB) StepToSend(ctx context.Context, id int64) (*StepMail, error) {
	var m StepMail
	var due int64
	var done sql.NullInt64
	err := db.queryRow(ctx, `SELECT id, enrollment_id, step, due_at, done_at FROM enrollment_steps WHERE id = ?`, id).Scan(
		&m.ID, &m.EnrollmentID, &m.ScheduledStep.Step, &due, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("step %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("step %d: %w", id, err)
	}
	m.Due, m.Done = time.UnixMilli(due).UTC(), done.Valid
	e, err := db.Enrollment(ctx, m.EnrollmentID)
	if err != nil {
		return nil, fmt.Errorf("step %d: %w", id, err)
	}
	i := m.ScheduledStep.Step
	if i < 0 || i >= len(e.Steps) {
		return nil, fmt.Errorf("step %d: enrollment %d has no step %d: %w", id, e.ID, i, ErrNotFound)
	}
	m.Step = e.Steps[i]
	el, err := db.ContactEligibleForStep(ctx, m.EnrollmentID, i)
	if err != nil {
		return nil, err
	}
	m.Contact = el.Contact
	return &m, nil
}

// QueuedStep is what QueueStep did.
type QueuedStep struct {
	// Batch is the step's ledger batch (KindStep, the step's id, 1), when
	// the contact could be mailed and the row is queued; zero otherwise.
	Batch BatchRef
	// Reason is why not, as StepEligibility.Reason; empty when queued.
	Reason string
	// Already: the step's task had run before; nothing was written.
	Already bool
}

// QueueStep is the step task's write: if the contact may still get step id
// (ContactEligibleForStep), it writes the step's ledger row (KindStep,
// source id, the contact's address, batch 1); either way it marks the step
// done, and ends the enrollment (done) when it was its last open step. A
// step is queued at most once, and the ledger's uniqueness keeps its send
// at most one.
func (db *DB) QueueStep(ctx context.Context, id int64) (QueuedStep, error) {
	m, err := db.StepToSend(ctx, id)
	if err != nil {
		return QueuedStep{}, fmt.Errorf("queue step: %w", err)
	}
	el, err := db.ContactEligibleForStep(ctx, m.EnrollmentID, m.ScheduledStep.Step)
	if err != nil {
		return QueuedStep{}, fmt.Errorf("queue step: %w", err)
	}
	var out QueuedStep
	err = db.tx(ctx, func(tx *Tx) error {
		now := db.nowMS()
		res, err := tx.exec(ctx, `UPDATE enrollment_steps SET done_at = ? WHERE id = ? AND done_at IS NULL`, now, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			out.Already = true
			return err
		}
		if !el.OK {
			out.Reason = el.Reason
		} else {
			out.Batch = BatchRef{Kind: KindStep, SourceID: id, Batch: 1}
			if _, err := tx.exec(ctx, `INSERT INTO deliveries (kind, source_id, recipient, batch, state, created_at)
				VALUES (?, ?, ?, 1, 'queued', ?) ON CONFLICT (kind, source_id, recipient) DO NOTHING`,
				KindStep, id, el.Contact.Email, now); err != nil {
				return fmt.Errorf("ledger: %w", err)
			}
		}
		_, err = tx.exec(ctx, `UPDATE enrollments SET state = 'done', ended_at = ? WHERE id = ? AND state = 'active'
			AND NOT EXISTS (SELECT 1 FROM enrollment_steps WHERE enrollment_id = ? AND done_at IS NULL)`,
			now, m.EnrollmentID, m.EnrollmentID)
		return err
	})
	if err != nil {
		return QueuedStep{}, fmt.Errorf("queue step %d: %w", id, err)
	}
	return out, nil
}
