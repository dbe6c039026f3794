package worker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
	"github.com/practicemail/practicemail/sequences"
)

// Redis loses everything mid-sequence (FLUSHALL), and an inquiry was saved
// whose enqueue was lost: the reconciler enqueues the steps still to come
// and the unprocessed inquiry, and every step arrives once, none skipped.
func TestFlushAllMidSequenceContinues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newInquiryRig(t, db)
		r.start(t)
		r.inquire(t, "cy@example.org", "Hello.", true)
		waitFor(t, "the acknowledgement", func() bool { return len(r.to(t, "cy@example.org")) == 1 })
		if err := r.rdb.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		r.inquire(t, "dee@example.org", "Hello too.", false) // its enqueue lost
		n, err := r.w.Reconcile(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if n < 3 { // cy's steps 2 and 3, dee's inquiry
			t.Errorf("reconcile enqueued %d tasks, want at least 3", n)
		}
		want := "Thanks for reaching out|Something we often hear|What a first session looks like"
		waitFor(t, "both sequences", func() bool {
			return len(r.to(t, "cy@example.org")) == 3 && len(r.to(t, "dee@example.org")) == 3 && len(r.to(t, notifyTo)) == 2
		})
		waitFor(t, "no step open", func() bool {
			open, err := db.OpenSteps(ctx, time.Now().Add(time.Hour))
			return err == nil && len(open) == 0
		})
		if n, err := r.w.Reconcile(ctx, false); err != nil || n != 0 {
			t.Errorf("a second reconcile enqueued %d, %v; want nothing", n, err)
		}
		for _, who := range []string{"cy@example.org", "dee@example.org"} {
			if got := strings.Join(r.subjects(t, who), "|"); got != want {
				t.Errorf("%s got %q, want each step once: %q", who, got, want)
			}
		}
	})
}

// Crisis language: the notification's subject starts with URGENT:, and the
// acknowledgement still carries 988.
func TestCrisisInquiryIsUrgent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newInquiryRig(t, db)
		r.start(t)
		s := r.inquire(t, "eve@example.org", "Some nights I feel there is no reason to live.", true)
		waitFor(t, "the notification and acknowledgement", func() bool {
			return len(r.to(t, notifyTo)) == 1 && len(r.to(t, "eve@example.org")) == 1
		})
		if got := r.to(t, notifyTo)[0].Header.Get("Subject"); !strings.HasPrefix(got, "URGENT:") {
			t.Errorf("notification subject = %q, want URGENT: first", got)
		}
		checkStepEmail(t, r, r.to(t, "eve@example.org")[0], "Thanks for reaching out", s.ContactID)
	})
}

// A notification is sent only over verified TLS: on a transport that may
// not carry it, its ledger row fails with the reason, and the person's
// acknowledgement goes out all the same.
func TestNotificationNeedsVerifiedTLS(t *testing.T) {
	for _, c := range []struct {
		url, tls string
		ok       bool
	}{
		{"", "", true}, // the outbox
		{"smtp://mail.example:587", "mandatory", true},
		{"smtp://mail.example:587", "", true},
		{"smtps://mail.example:465", "opportunistic", true},
		{"smtp://127.0.0.1:2525", "none", true},
		{"smtp://localhost:2525", "none", true},
		{"smtp://mail.example:587", "opportunistic", false},
		{"smtp://mail.example:25", "none", false},
	} {
		if got := NotifyTransport(c.url, c.tls); (got == "") != c.ok {
			t.Errorf("NotifyTransport(%q, %q) = %q, want allowed %v", c.url, c.tls, got, c.ok)
		}
	}
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	r := newInquiryRig(t, db)
	r.w.Inquiries.NotifyRefused = NotifyTransport("smtp://mail.example:587", "opportunistic")
	r.start(t)
	s := r.inquire(t, "fay@example.org", "Hello.", true)
	waitFor(t, "the acknowledgement", func() bool { return len(r.to(t, "fay@example.org")) == 1 })
	waitFor(t, "the notification's outcome", func() bool {
		rows, err := db.Deliveries(ctx, store.KindInquiryNotify, s.InquiryID)
		return err == nil && len(rows) == 1 && rows[0].State != store.DeliveryQueued
	})
	rows, _ := db.Deliveries(ctx, store.KindInquiryNotify, s.InquiryID)
	if rows[0].State != store.DeliveryFailed || !strings.Contains(rows[0].LastReply, "verified TLS") {
		t.Errorf("notification row = %+v, want failed saying why", rows[0])
	}
	if len(r.to(t, notifyTo)) != 0 {
		t.Error("the notification was sent over an unverified transport")
	}
}

// windowSequence waits for a weekday daytime hour for every step after
// the first.
const windowSequence = `name: inquiry
window: "Mon-Fri 09:00-17:00"
steps:
  - after: 0s
    template: inquiry/thanks
    subject: "Thanks for reaching out"
  - after: 1s
    template: inquiry/protection
    subject: "Something we often hear"
`

// Steps are scheduled in the person's time zone, else the practice's: with
// the clock at Saturday 10:00 in Denver the day before next year's March
// DST change (in the future, so that asynq schedules rather than runs), a step due at once after the acknowledgement waits for Monday
// 09:00 Denver (now MDT), and for someone who gave no zone, of a practice
// in Asia/Kolkata, Monday 09:00 there. The step's task is scheduled for
// that instant, with a task ID per (enrollment, step).
func TestStepsAreScheduledInTheirWindowAndZone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		denver, kolkata := mustZone(t, "America/Denver"), mustZone(t, "Asia/Kolkata")
		sat := dstSaturday(time.Now().Year()+1, denver)
		clock := &fakeClock{now: sat.Add(10 * time.Hour)}
		monday := func(loc *time.Location) time.Time {
			return time.Date(sat.Year(), sat.Month(), sat.Day()+2, 9, 0, 0, 0, loc)
		}
		db.Now = clock.Now
		if _, before := clock.Now().Zone(); func() bool { _, after := monday(denver).Zone(); return after == before }() {
			t.Fatal("the test does not cross the DST change")
		}
		r := newInquiryRig(t, db)
		r.w.Practice.TimeZone = kolkata
		r.w.Inquiries.Sequences = loadSequences(t, r.w, windowSequence)
		cases := []struct {
			email, zone string
			want        time.Time
		}{
			{"ana@example.org", "America/Denver", monday(denver)},
			{"raj@example.org", "", monday(kolkata)},
		}
		for _, c := range cases {
			s, err := db.SaveInquiry(ctx, store.NewInquiry{Contact: store.NewContact{Email: c.email, TimeZone: c.zone, Consent: true},
				Message: "Hello."}, r.sealer)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.w.handleInquiry(ctx, NewInquiryTask("", s.InquiryID)); err != nil {
				t.Fatal(err)
			}
		}
		open, err := db.OpenSteps(ctx, clock.Now().AddDate(0, 0, 7))
		if err != nil {
			t.Fatal(err)
		}
		due := map[int64]map[int]time.Time{}
		for _, s := range open {
			if due[s.EnrollmentID] == nil {
				due[s.EnrollmentID] = map[int]time.Time{}
			}
			due[s.EnrollmentID][s.Step] = s.Due
		}
		for i, c := range cases {
			e := int64(i + 1)
			if got := due[e][1]; !got.Equal(c.want) {
				t.Errorf("%s: step 2 due %s, want %s", c.email, got.In(c.want.Location()), c.want)
			}
			if got := due[e][0]; !got.Equal(clock.Now()) {
				t.Errorf("%s: the acknowledgement due %s, want at once", c.email, got)
			}
		}
		scheduled, err := r.w.Inspector.ListScheduledTasks(QueueControl)
		if err != nil {
			t.Fatal(err)
		}
		at := map[string]time.Time{}
		for _, task := range scheduled {
			at[task.ID] = task.NextProcessAt
		}
		for i, c := range cases {
			id := stepTaskID("", store.ScheduledStep{EnrollmentID: int64(i + 1), Step: 1})
			if got := at[id]; !got.Equal(c.want) {
				t.Errorf("%s: task %s at %s, want %s", c.email, id, got, c.want)
			}
		}
	})
}

// dstSaturday is midnight of the Saturday before the second Sunday of
// March of year in loc: the day before the US changes to summer time.
func dstSaturday(year int, loc *time.Location) time.Time {
	d := time.Date(year, 3, 1, 0, 0, 0, 0, loc)
	for d.Weekday() != time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 6) // second Sunday - 1
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// loadSequences loads src as the one sequence file of a directory.
func loadSequences(t *testing.T, w *Worker, src string) sequences.Set {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "seq.yaml"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := sequences.LoadDir(dir, sequences.Options{HasTemplate: w.Templates.Has})
	if err != nil {
		t.Fatal(err)
	}
	return set
}
