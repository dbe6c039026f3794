package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// InquiryWork is what the worker's inquiry:received task writes for one
// inquiry, in one transaction (ProcessInquiry).
type InquiryWork struct {
	InquiryID int64
	// NotifyEmail receives the practice's notification (a KindInquiryNotify
	// ledger row); empty: none is written.
	NotifyEmail string
	// Sequence is the sequence the contact is enrolled in; Sequence.Name
	// empty: none. Its ContactID is filled in here.
	Sequence NewEnrollment
	// Due is when step i of an enrollment started at start falls due for a
	// contact in time zone tz (an IANA name, or empty for the practice's).
	Due func(step int, start time.Time, tz string) time.Time
}

// ScheduledStep is one row of enrollment_steps: a step's task.
type ScheduledStep struct {
	ID           int64 // enrollment_steps.id: the step's ledger source
	EnrollmentID int64
	Step         int
	Due          time.Time
}

// ProcessedInquiry is what ProcessInquiry wrote.
type ProcessedInquiry struct {
	// Already: the inquiry was processed before and nothing was written.
	Already bool
	// Notify is the notification's batch; zero without NotifyEmail.
	Notify BatchRef
	// EnrollmentID is the contact's active enrollment in the sequence (new
	// or not); 0 when they may not be enrolled (not active).
	EnrollmentID int64
	Enrolled     bool            // the enrollment is new
	Steps        []ScheduledStep // the new enrollment's steps, to enqueue
}

// ProcessInquiry marks inquiry w.InquiryID processed and, in the same
// transaction, queues the practice's notification, enrolls its contact
// (unless they are in the sequence already, or not active) and schedules
// the new enrollment's steps. Steps after the first are scheduled only for
// a contact who agreed to follow-up emails; the first is the
// acknowledgement. A processed inquiry is not processed again (Already),
// so a task run twice notifies once. ErrNotFound for no such inquiry.
func (db *DB) ProcessInquiry(ctx context.Context, w InquiryWork) (ProcessedInquiry, error) {
	var out ProcessedInquiry
	err := db.tx(ctx, func(tx *Tx) error {
		now := db.nowMS()
		var c Contact
		err := tx.queryRow(ctx, `SELECT c.id, c.status, c.consent, c.time_zone FROM inquiries i
			JOIN contacts c ON c.id = i.contact_id WHERE i.id = ?`, w.InquiryID).Scan(&c.ID, &c.Status, &c.Consent, &c.TimeZone)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE inquiries SET processed_at = ? WHERE id = ? AND processed_at IS NULL`, now, w.InquiryID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			out.Already = true
			return err
		}
		if w.NotifyEmail != "" {
			out.Notify = BatchRef{Kind: KindInquiryNotify, SourceID: w.InquiryID, Batch: 1}
			if _, err := tx.exec(ctx, `INSERT INTO deliveries (kind, source_id, recipient, batch, state, created_at)
				VALUES (?, ?, ?, 1, 'queued', ?) ON CONFLICT (kind, source_id, recipient) DO NOTHING`,
				KindInquiryNotify, w.InquiryID, w.NotifyEmail, now); err != nil {
				return fmt.Errorf("notification: %w", err)
			}
		}
		if w.Sequence.Sequence == "" || c.Status != ContactActive {
			return nil
		}
		return tx.enrollAndSchedule(ctx, w, c, now, &out)
	})
	if err != nil {
		return ProcessedInquiry{}, fmt.Errorf("process inquiry %d: %w", w.InquiryID, err)
	}
	return out, nil
}

// enrollAndSchedule enrolls contact c in w.Sequence unless they are in it,
// and schedules the new enrollment's steps.
func (tx *Tx) enrollAndSchedule(ctx context.Context, w InquiryWork, c Contact, now int64, out *ProcessedInquiry) error {
	n := w.Sequence
	snapshot, err := stepsSnapshot(n.Steps)
	if err != nil {
		return err
	}
	err = tx.queryRow(ctx, `INSERT INTO enrollments (contact_id, sequence, version, steps, state, started_at)
		VALUES (?, ?, ?, ?, 'active', ?)
		ON CONFLICT (contact_id, sequence) WHERE state = 'active' DO NOTHING RETURNING id`,
		c.ID, n.Sequence, n.Version, snapshot, now).Scan(&out.EnrollmentID)
	if errors.Is(err, sql.ErrNoRows) {
		return tx.queryRow(ctx, `SELECT id FROM enrollments WHERE contact_id = ? AND sequence = ? AND state = 'active'`,
			c.ID, n.Sequence).Scan(&out.EnrollmentID)
	}
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	out.Enrolled = true
	start := time.UnixMilli(now).UTC()
	for _, st := range n.Steps {
		if st.Step > 0 && !c.Consent {
			break // follow-ups only with consent; the acknowledgement always
		}
		s := ScheduledStep{EnrollmentID: out.EnrollmentID, Step: st.Step, Due: w.Due(st.Step, start, c.TimeZone)}
		if err := tx.queryRow(ctx, `INSERT INTO enrollment_steps (enrollment_id, step, due_at, created_at)
			VALUES (?, ?, ?, ?) RETURNING id`, s.EnrollmentID, s.Step, s.Due.UnixMilli(), now).Scan(&s.ID); err != nil {
			return fmt.Errorf("schedule step %d: %w", st.Step, err)
		}
		out.Steps = append(out.Steps, s)
	}
	return nil
}

// stepsSnapshot is steps as enrollments.steps keeps them (see Enroll).
func stepsSnapshot(steps []SequenceStep) (string, error) {
	js := make([]stepJSON, len(steps))
	for i, s := range steps {
		js[i] = stepJSON{Step: s.Step, After: s.After.String(), Template: s.Template, Subject: s.Subject, Preview: s.Preview}
	}
	b, err := json.Marshal(js)
	return string(b), err
}

// UnprocessedInquiries returns the ids of inquiries whose inquiry:received
// task has not run to its commit, oldest first, for the reconciler.
func (db *DB) UnprocessedInquiries(ctx context.Context) ([]int64, error) {
	rows, err := db.query(ctx, `SELECT id FROM inquiries WHERE processed_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("unprocessed inquiries: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("unprocessed inquiries: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
