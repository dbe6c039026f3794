package store_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// TestEnrollOneActivePerSequence enrolls one contact from eight goroutines
// on two handles of one database at once: two handles share no lock of
// this process, as two worker processes would not.
func TestEnrollOneActivePerSequence(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			testEnrollOneActive(t, storetest.OpenAt(t, url), storetest.OpenAt(t, url))
		})
	}
}

func testEnrollOneActive(t *testing.T, db, db2 *store.DB) {
	c := saveInquiry(t, db, newSealer(t), inquiry("rae@example.org"))
	const n = 8
	type result struct {
		id      int64
		created bool
		err     error
	}
	results := make(chan result, n)
	var start sync.WaitGroup
	start.Add(1)
	for i := range n {
		h := []*store.DB{db, db2}[i%2]
		go func() {
			start.Wait()
			e, created, err := h.Enroll(ctx, store.NewEnrollment{ContactID: c.ContactID, Sequence: "inquiry", Version: "v1", Steps: testSteps})
			if err != nil {
				results <- result{err: err}
				return
			}
			results <- result{id: e.ID, created: created}
		}()
	}
	start.Done()
	ids, creates := map[int64]bool{}, 0
	for range n {
		r := <-results
		if r.err != nil {
			t.Fatalf("Enroll: %v", r.err)
		}
		ids[r.id] = true
		if r.created {
			creates++
		}
	}
	if len(ids) != 1 || creates != 1 {
		t.Fatalf("%d concurrent Enrolls made %d enrollments (%d said created), want 1", n, len(ids), creates)
	}
	var id int64
	for id = range ids {
	}
	e, err := db.Enrollment(ctx, id)
	must(t, err)
	want := &store.Enrollment{ID: id, ContactID: c.ContactID, Sequence: "inquiry", Version: "v1", Steps: testSteps,
		State: store.EnrollmentActive, StartedAt: e.StartedAt}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("enrollment (-want +got):\n%s", diff)
	}

	other, created, err := db.Enroll(ctx, store.NewEnrollment{ContactID: c.ContactID, Sequence: "news", Steps: testSteps})
	must(t, err)
	if !created || other.ID == id {
		t.Errorf("Enroll in another sequence = %d, created %v; want a new enrollment", other.ID, created)
	}
	must(t, db.FinishEnrollment(ctx, id))
	again, created, err := db.Enroll(ctx, store.NewEnrollment{ContactID: c.ContactID, Sequence: "inquiry", Version: "v2", Steps: testSteps[:1]})
	must(t, err)
	if !created || again.ID == id || again.Version != "v2" || len(again.Steps) != 1 {
		t.Errorf("Enroll after the first was done = %+v, created %v; want a new one of v2", again, created)
	}
	if _, _, err := db.Enroll(ctx, store.NewEnrollment{ContactID: 9999, Sequence: "inquiry"}); !errors.Is(err, store.ErrNotEnrollable) {
		t.Errorf("Enroll of no contact = %v, want ErrNotEnrollable", err)
	}
}

func TestStopEnrollments(t *testing.T) {
	for _, reason := range store.StopReasons {
		t.Run(reason, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				s := newSealer(t)
				stopped := saveInquiry(t, db, s, inquiry("stop@example.org"))
				other := saveInquiry(t, db, s, inquiry("other@example.org"))
				e1 := enroll(t, db, stopped.ContactID, "inquiry")
				e2 := enroll(t, db, stopped.ContactID, "news")
				e3 := enroll(t, db, other.ContactID, "inquiry")

				n, err := db.StopEnrollments(ctx, "Stop@Example.org", reason)
				must(t, err)
				if n != 2 {
					t.Errorf("stopped %d enrollments, want 2", n)
				}
				for _, id := range []int64{e1, e2} {
					wantEligible(t, db, id, 1, false, reason)
					e, err := db.Enrollment(ctx, id)
					must(t, err)
					if e.State != store.EnrollmentStopped || e.StopReason != reason {
						t.Errorf("enrollment %d: %s (%s), want stopped (%s)", id, e.State, e.StopReason, reason)
					}
				}
				wantEligible(t, db, e3, 1, true, "")
				if n, err := db.StopEnrollments(ctx, "stop@example.org", reason); err != nil || n != 0 {
					t.Errorf("stopping again = %d, %v; want 0, nil", n, err)
				}
				if _, _, err := db.Enroll(ctx, store.NewEnrollment{ContactID: stopped.ContactID, Sequence: "inquiry"}); !errors.Is(err, store.ErrNotEnrollable) {
					t.Errorf("Enroll after %s = %v, want ErrNotEnrollable", reason, err)
				}
				if again := saveInquiry(t, db, s, inquiry("stop@example.org")); again.ContactStatus != reason {
					t.Errorf("a new inquiry after %s made the contact %s; want it kept", reason, again.ContactStatus)
				}
			})
		})
	}
}

func TestStopNeverHoldsBackLess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := saveInquiry(t, db, newSealer(t), inquiry("rae@example.org"))
		for _, tt := range []struct{ reason, want string }{
			{store.ContactBooked, store.ContactBooked},
			{store.ContactReplied, store.ContactReplied},
			{store.ContactUnsubscribed, store.ContactUnsubscribed},
			{store.ContactBooked, store.ContactUnsubscribed},
			{store.ContactBounced, store.ContactBounced},
			{store.ContactStopped, store.ContactBounced},
		} {
			_, err := db.StopEnrollments(ctx, "rae@example.org", tt.reason)
			must(t, err)
			q, err := db.Inquiry(ctx, c.InquiryID)
			must(t, err)
			if q.Contact.Status != tt.want {
				t.Errorf("after %s the contact is %s, want %s", tt.reason, q.Contact.Status, tt.want)
			}
		}
		if n, err := db.StopEnrollments(ctx, "nobody@example.org", store.ContactBooked); err != nil || n != 0 {
			t.Errorf("stopping an unknown address = %d, %v; want 0, nil", n, err)
		}
		if _, err := db.StopEnrollments(ctx, "rae@example.org", "canceled"); err == nil {
			t.Error("an unknown reason was accepted")
		}
	})
}

func TestContactEligibleForStepNeedsConsentAfterTheAcknowledgement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		in := inquiry("rae@example.org")
		in.Contact.Consent = false
		c := saveInquiry(t, db, newSealer(t), in)
		e := enroll(t, db, c.ContactID, "inquiry")
		wantEligible(t, db, e, 0, true, "")
		wantEligible(t, db, e, 1, false, store.NotEligibleNoConsent)
		must(t, db.FinishEnrollment(ctx, e))
		wantEligible(t, db, e, 0, false, store.EnrollmentDone)
		if _, err := db.ContactEligibleForStep(ctx, 9999, 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("no enrollment = %v, want ErrNotFound", err)
		}
	})
}

func TestScheduleStepOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := saveInquiry(t, db, newSealer(t), inquiry("rae@example.org"))
		e := enroll(t, db, c.ContactID, "inquiry")
		due := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
		a, err := db.ScheduleStep(ctx, e, 1, due)
		must(t, err)
		b, err := db.ScheduleStep(ctx, e, 1, due.Add(time.Hour))
		must(t, err)
		other, err := db.ScheduleStep(ctx, e, 2, due)
		must(t, err)
		if a != b || a == other {
			t.Errorf("step ids %d, %d (again), %d (next step): want one id per step", a, b, other)
		}
	})
}

func enroll(t *testing.T, db *store.DB, contactID int64, sequence string) int64 {
	t.Helper()
	e, _, err := db.Enroll(ctx, store.NewEnrollment{ContactID: contactID, Sequence: sequence, Steps: testSteps})
	must(t, err)
	return e.ID
}

func wantEligible(t *testing.T, db *store.DB, enrollment int64, step int, ok bool, reason string) {
	t.Helper()
	got, err := db.ContactEligibleForStep(ctx, enrollment, step)
	must(t, err)
	if got.OK != ok || got.Reason != reason {
		t.Errorf("step %d of enrollment %d: eligible %v (%q), want %v (%q)", step, enrollment, got.OK, got.Reason, ok, reason)
	}
}

func TestEraseContact(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			db := storetest.OpenAt(t, url)
			raw := storetest.Raw(t, url)
			s := newSealer(t)
			a := saveInquiry(t, db, s, inquiry("rae@example.org"))
			kept := saveInquiry(t, db, s, inquiry("sam@example.org"))
			e := enroll(t, db, a.ContactID, "inquiry")
			step, err := db.ScheduleStep(ctx, e, 0, db.Now())
			must(t, err)
			_, err = raw.ExecContext(ctx, `INSERT INTO deliveries (kind, source_id, recipient, batch, state, last_reply, created_at)
				VALUES ($1, $2, $3, 1, 'failed', $4, 0)`, store.KindStep, step, "rae@example.org", "550 5.2.2 rae@example.org is over quota")
			must(t, err)

			must(t, db.EraseContact(ctx, "Rae@example.org"))
			q, err := db.Inquiry(ctx, a.InquiryID)
			must(t, err)
			wantContact := store.Contact{ID: a.ContactID, Email: fmt.Sprintf("erased:%d", a.ContactID), Status: store.ContactErased}
			if diff := cmp.Diff(wantContact, q.Contact); diff != "" || q.Message != nil || q.PreferredTime != nil || q.MessageDeletedAt.IsZero() {
				t.Errorf("erased inquiry: message %d bytes, deleted at %v, contact (-want +got):\n%s", len(q.Message), q.MessageDeletedAt, diff)
			}
			wantEligible(t, db, e, 0, false, store.ContactErased)
			var recipient, reply string
			must(t, raw.QueryRowContext(ctx, `SELECT recipient, last_reply FROM deliveries WHERE source_id = $1`, step).Scan(&recipient, &reply))
			if strings.Contains(recipient+reply, "rae@") {
				t.Errorf("the ledger still names the address: recipient %q, reply %q", recipient, reply)
			}
			if k, err := db.Inquiry(ctx, kept.InquiryID); err != nil || k.Message == nil || k.Contact.Email != "sam@example.org" {
				t.Errorf("another contact's inquiry after the erasure: %+v, %v", k, err)
			}
			if err := db.EraseContact(ctx, "rae@example.org"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("erasing again = %v, want ErrNotFound", err)
			}
			back := saveInquiry(t, db, s, inquiry("rae@example.org"))
			if !back.NewContact || back.ContactStatus != store.ContactActive || back.Enrolled {
				t.Errorf("an erased person writing again = %+v, want a new active contact", back)
			}
		})
	}
}

// An enrollment keeps each step's preview text with the rest of its
// edition, for the step's preheader; a step without one keeps none.
func TestEnrollmentKeepsThePreviewText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := saveInquiry(t, db, newSealer(t), inquiry("pia@example.org"))
		steps := append([]store.SequenceStep(nil), testSteps...)
		steps[1].Preview = "The room, the pace, and what happens afterwards."
		e, _, err := db.Enroll(ctx, store.NewEnrollment{ContactID: c.ContactID, Sequence: "inquiry", Version: "v1", Steps: steps})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.Enrollment(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(steps, got.Steps); d != "" {
			t.Errorf("steps kept (-want +got):\n%s", d)
		}
	})
}
