package store_test

import (
	"errors"
	"testing"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// EnrollmentStates says where each enrollment of a contact stands, and
// ContactByEmail finds a contact by any spelling of the address until
// they are erased.
func TestEnrollmentStatesAndContactByEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSealer(t)
		saved := saveInquiry(t, db, s, inquiry("rae@example.org"))
		if es, err := db.EnrollmentStates(ctx, saved.ContactID); err != nil || len(es) != 0 {
			t.Errorf("before enrolling: %v, %v", es, err)
		}
		_, _, err := db.Enroll(ctx, store.NewEnrollment{ContactID: saved.ContactID, Sequence: "inquiry", Steps: testSteps})
		must(t, err)
		_, err = db.StopEnrollments(ctx, "rae@example.org", store.ContactBooked)
		must(t, err)
		es, err := db.EnrollmentStates(ctx, saved.ContactID)
		must(t, err)
		if len(es) != 1 || es[0].Sequence != "inquiry" || es[0].State != store.EnrollmentStopped ||
			es[0].StopReason != store.ContactBooked || es[0].StartedAt.IsZero() {
			t.Errorf("EnrollmentStates = %+v", es)
		}
		c, err := db.ContactByEmail(ctx, "Rae@Example.org")
		must(t, err)
		if c.ID != saved.ContactID || c.Status != store.ContactBooked || c.Name != "Rae Okafor" || !c.Consent {
			t.Errorf("ContactByEmail = %+v", c)
		}
		must(t, db.EraseContact(ctx, "rae@example.org"))
		if _, err := db.ContactByEmail(ctx, "rae@example.org"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ContactByEmail after erasure: %v, want ErrNotFound", err)
		}
	})
}
