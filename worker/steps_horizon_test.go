package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// Redis loses every task on a Saturday morning in Denver, the weekend the
// clocks go back, while a step waits for Monday 09:00. The reconciler
// re-creates the acknowledgement's task at once but leaves the step alone
// (nor asks Redis about it) while it is more than stepHorizon away; an
// hour before Monday 09:00 it re-creates the step's task for that very
// instant, once.
func TestReconcilerRecreatesALostStepBeforeItFallsDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		denver := mustZone(t, "America/Denver")
		saturday := saturdayBefore(time.Now().Year()+1, time.November, 1, denver)
		clock := &fakeClock{now: saturday.Add(10 * time.Hour)}
		db.Now = clock.Now
		r := newInquiryRig(t, db)
		r.w.Inquiries.Sequences = loadSequences(t, r.w, windowSequence)
		r.w.Inquiries.NotifyEmail = "" // only steps to reconcile
		s, err := db.SaveInquiry(ctx, store.NewInquiry{Contact: store.NewContact{Email: "kit@example.org",
			TimeZone: "America/Denver", Consent: true}, Message: "Hello."}, r.sealer)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.w.handleInquiry(ctx, NewInquiryTask("", s.InquiryID)); err != nil {
			t.Fatal(err)
		}
		ack, step := store.ScheduledStep{EnrollmentID: 1, Step: 0}, store.ScheduledStep{EnrollmentID: 1, Step: 1}
		monday := time.Date(saturday.Year(), saturday.Month(), saturday.Day()+2, 9, 0, 0, 0, denver)
		if due := openStepDue(t, db, step, monday); !due.Equal(monday) {
			t.Fatalf("step 2 due %s, want %s", due, monday)
		}
		if err := r.rdb.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		// asynq's client registers a queue with the Inspector once in its
		// life: a client of its own after the loss, for the lookups below.
		r.w.Queue = asynq.NewClientFromRedisClient(r.rdb)

		if n, err := r.w.Reconcile(ctx, false); err != nil || n != 1 {
			t.Fatalf("reconcile on Saturday: %d enqueued, %v; want the acknowledgement's task only", n, err)
		}
		if _, err := r.w.Inspector.GetTaskInfo(QueueControl, stepTaskID("", ack)); err != nil {
			t.Errorf("the acknowledgement's task after reconciling: %v", err)
		}
		if _, err := r.w.Inspector.GetTaskInfo(QueueControl, stepTaskID("", step)); !errors.Is(err, asynq.ErrTaskNotFound) {
			t.Errorf("step 2's task, two days before it falls due: %v; want none yet", err)
		}

		clock.now = monday.Add(-stepHorizon + time.Minute)
		if n, err := r.w.Reconcile(ctx, false); err != nil || n != 1 {
			t.Fatalf("reconcile on Monday at %s: %d enqueued, %v; want step 2's task", clock.now.In(denver).Format(time.Kitchen), n, err)
		}
		info, err := r.w.Inspector.GetTaskInfo(QueueControl, stepTaskID("", step))
		if err != nil {
			t.Fatalf("step 2's task: %v", err)
		}
		if info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(monday) {
			t.Errorf("step 2's task is %s for %s, want scheduled for %s", info.State, info.NextProcessAt.In(denver), monday)
		}
		if n, err := r.w.Reconcile(ctx, false); err != nil || n != 0 {
			t.Errorf("reconcile again: %d enqueued, %v; want nothing", n, err)
		}
	})
}
