package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// work is the inquiry work of a three-step sequence whose step i is due i
// hours after the start.
func work(id int64) store.InquiryWork {
	return store.InquiryWork{
		InquiryID: id, NotifyEmail: "intake@stillpoint.example",
		Sequence: store.NewEnrollment{Sequence: "inquiry", Version: "v1", Steps: []store.SequenceStep{
			{Step: 0, Template: "inquiry/thanks", Subject: "Thanks"},
			{Step: 1, After: time.Hour, Template: "inquiry/protection", Subject: "One"},
			{Step: 2, After: 2 * time.Hour, Template: "inquiry/consult", Subject: "Two"},
		}},
		Due: func(i int, start time.Time, _ string) time.Time { return start.Add(time.Duration(i) * time.Hour) },
	}
}

// ProcessInquiry notifies, enrolls and schedules once: run again it writes
// nothing; a second inquiry of the same person notifies and enrolls
// nothing new; someone without consent gets only the acknowledgement.
func TestProcessInquiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSealer(t)
		first := saveInquiry(t, db, s, inquiry("rae@example.org"))
		got, err := db.ProcessInquiry(ctx, work(first.InquiryID))
		must(t, err)
		if !got.Enrolled || len(got.Steps) != 3 || got.Notify != (store.BatchRef{Kind: store.KindInquiryNotify, SourceID: first.InquiryID, Batch: 1}) {
			t.Fatalf("first = %+v", got)
		}
		if d := got.Steps[2].Due.Sub(got.Steps[0].Due); d != 2*time.Hour {
			t.Errorf("step 3 due %s after step 1, want 2h", d)
		}
		again, err := db.ProcessInquiry(ctx, work(first.InquiryID))
		must(t, err)
		if !again.Already {
			t.Errorf("processed twice: %+v", again)
		}
		second := saveInquiry(t, db, s, inquiry("rae@example.org"))
		got2, err := db.ProcessInquiry(ctx, work(second.InquiryID))
		must(t, err)
		if got2.Enrolled || len(got2.Steps) != 0 || got2.EnrollmentID != got.EnrollmentID || got2.Notify.SourceID != second.InquiryID {
			t.Errorf("second inquiry = %+v, want a notification and the same enrollment", got2)
		}
		in := inquiry("sol@example.org")
		in.Contact.Consent = false
		nc := saveInquiry(t, db, s, in)
		got3, err := db.ProcessInquiry(ctx, work(nc.InquiryID))
		must(t, err)
		if len(got3.Steps) != 1 || got3.Steps[0].Step != 0 {
			t.Errorf("without consent: %+v, want the acknowledgement only", got3.Steps)
		}
		left, err := db.UnprocessedInquiries(ctx)
		must(t, err)
		if len(left) != 0 {
			t.Errorf("unprocessed = %v", left)
		}
		if _, err := db.ProcessInquiry(ctx, work(999)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown inquiry: %v", err)
		}
	})
}

// QueueStep writes a step's ledger row once, skips it for a stopped
// contact, and ends the enrollment with its last step; StopContact stops by
// id and OpenSteps forgets the stopped.
func TestQueueStepAndStopContact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSealer(t)
		in := saveInquiry(t, db, s, inquiry("rae@example.org"))
		p, err := db.ProcessInquiry(ctx, work(in.InquiryID))
		must(t, err)
		open, err := db.OpenSteps(ctx, time.Now().Add(3*time.Hour))
		must(t, err)
		if diff := cmp.Diff(p.Steps, open); diff != "" {
			t.Errorf("open steps (-scheduled +open):\n%s", diff)
		}
		q, err := db.QueueStep(ctx, p.Steps[0].ID)
		must(t, err)
		if q.Batch != (store.BatchRef{Kind: store.KindStep, SourceID: p.Steps[0].ID, Batch: 1}) {
			t.Fatalf("step 1 = %+v", q)
		}
		if q, err := db.QueueStep(ctx, p.Steps[0].ID); err != nil || !q.Already {
			t.Errorf("step 1 again = %+v, %v; want already", q, err)
		}
		rows, err := db.Deliveries(ctx, store.KindStep, p.Steps[0].ID)
		must(t, err)
		if len(rows) != 1 || rows[0].Recipient != "rae@example.org" {
			t.Errorf("step 1 ledger = %+v", rows)
		}
		m, err := db.StepToSend(ctx, p.Steps[1].ID)
		must(t, err)
		if m.Step.Subject != "One" || m.Contact.ID != in.ContactID || m.Done {
			t.Errorf("step 2 = %+v", m)
		}
		n, err := db.StopContact(ctx, in.ContactID, store.ContactUnsubscribed)
		must(t, err)
		if n != 1 {
			t.Errorf("StopContact stopped %d enrollments, want 1", n)
		}
		if open, _ := db.OpenSteps(ctx, time.Now().Add(3*time.Hour)); len(open) != 0 {
			t.Errorf("open steps of a stopped contact: %+v", open)
		}
		q, err = db.QueueStep(ctx, p.Steps[1].ID)
		must(t, err)
		if q.Batch.Kind != "" || q.Reason != store.ContactUnsubscribed {
			t.Errorf("step 2 of an unsubscribed contact = %+v", q)
		}
		if _, err := db.StopContact(ctx, 999, store.ContactUnsubscribed); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("StopContact(unknown) = %v", err)
		}

		// Another person's last step ends their enrollment.
		other := saveInquiry(t, db, s, inquiry("sol@example.org"))
		po, err := db.ProcessInquiry(ctx, work(other.InquiryID))
		must(t, err)
		for _, st := range po.Steps {
			_, err := db.QueueStep(ctx, st.ID)
			must(t, err)
		}
		e, err := db.Enrollment(ctx, po.EnrollmentID)
		must(t, err)
		if e.State != store.EnrollmentDone {
			t.Errorf("after its last step the enrollment is %s, want done", e.State)
		}
	})
}
