package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// A step due at once after the acknowledgement, on a Saturday at 10:00 in
// Denver, waits for the weekday window: Monday 09:00 in the person's own
// zone, on an ordinary weekend and on the weekends the US changes its
// clocks in March and November, for a person in Denver and for one in
// Kolkata (whose Saturday evening it is, and whose zone never changes).
// The step's row and its asynq task both say that instant. (The March
// weekend for a Denver person, and the practice's zone for a person who
// gave none, are TestStepsAreScheduledInTheirWindowAndZone's.)
func TestStepWaitsForMondayAcrossClockChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		denver, kolkata := mustZone(t, "America/Denver"), mustZone(t, "Asia/Kolkata")
		year := time.Now().Year() + 1 // in the future, so that asynq schedules rather than runs
		clock := &fakeClock{}
		db.Now = clock.Now
		r := newInquiryRig(t, db)
		r.w.Practice.TimeZone = denver
		r.w.Inquiries.Sequences = loadSequences(t, r.w, windowSequence)
		ordinary := saturdayBefore(year, time.June, 2, denver)
		march := saturdayBefore(year, time.March, 2, denver)       // the second Sunday: MST → MDT
		november := saturdayBefore(year, time.November, 1, denver) // the first Sunday: MDT → MST
		cases := []struct {
			weekend  string
			saturday time.Time
			zone     *time.Location
		}{
			{"an ordinary weekend", ordinary, denver},
			{"an ordinary weekend", ordinary, kolkata},
			{"the March change", march, kolkata},
			{"the November change", november, denver},
			{"the November change", november, kolkata},
		}
		for i, c := range cases {
			clock.now = c.saturday.Add(10 * time.Hour) // 10:00 in Denver
			want := time.Date(c.saturday.Year(), c.saturday.Month(), c.saturday.Day()+2, 9, 0, 0, 0, c.zone)
			_, before := clock.now.Zone()
			_, after := want.In(denver).Zone()
			if changes := !c.saturday.Equal(ordinary); changes == (before == after) {
				t.Fatalf("%s: Denver's offset %d on Saturday, %d on Monday", c.weekend, before, after)
			}
			email := fmt.Sprintf("person%d@example.org", i)
			s, err := db.SaveInquiry(ctx, store.NewInquiry{Contact: store.NewContact{Email: email, TimeZone: c.zone.String(), Consent: true},
				Message: "Hello."}, r.sealer)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.w.handleInquiry(ctx, NewInquiryTask("", s.InquiryID)); err != nil {
				t.Fatal(err)
			}
			step := store.ScheduledStep{EnrollmentID: int64(i + 1), Step: 1}
			if got := openStepDue(t, db, step, clock.now.AddDate(0, 0, 7)); !got.Equal(want) {
				t.Errorf("%s, a person in %s: step 2 due %s, want %s", c.weekend, c.zone, got.In(c.zone), want)
			}
			info, err := r.w.Inspector.GetTaskInfo(QueueControl, stepTaskID("", step))
			if err != nil {
				t.Fatalf("%s, a person in %s: step 2's task: %v", c.weekend, c.zone, err)
			}
			if !info.NextProcessAt.Equal(want) {
				t.Errorf("%s, a person in %s: step 2's task at %s, want %s", c.weekend, c.zone, info.NextProcessAt.In(c.zone), want)
			}
		}
	})
}

// saturdayBefore is midnight in loc of the Saturday before the nth Sunday
// of month in year.
func saturdayBefore(year int, month time.Month, n int, loc *time.Location) time.Time {
	d := time.Date(year, month, 1, 0, 0, 0, 0, loc)
	for d.Weekday() != time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 7*(n-1)-1)
}

// openStepDue is when the open step of step's enrollment and number falls
// due, looking as far as dueBy; the test fails if there is none.
func openStepDue(t *testing.T, db *store.DB, step store.ScheduledStep, dueBy time.Time) time.Time {
	t.Helper()
	open, err := db.OpenSteps(context.Background(), dueBy)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range open {
		if s.EnrollmentID == step.EnrollmentID && s.Step == step.Step {
			return s.Due
		}
	}
	t.Fatalf("no open step %d of enrollment %d due by %s", step.Step, step.EnrollmentID, dueBy)
	return time.Time{}
}
