package store_test

import (
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// OpenSteps returns the open steps due by the time it is given, that one
// included, and none due later: the reconciler reads what falls due
// before its next passes, not every step of every enrollment.
func TestOpenStepsDueBy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		in := saveInquiry(t, db, newSealer(t), inquiry("ivy@example.org"))
		p, err := db.ProcessInquiry(ctx, work(in.InquiryID)) // steps due at once, in 1 h and in 2 h
		must(t, err)
		if len(p.Steps) != 3 {
			t.Fatalf("scheduled %d steps, want 3", len(p.Steps))
		}
		for _, c := range []struct {
			dueBy time.Time
			want  int
		}{
			{p.Steps[0].Due.Add(-time.Millisecond), 0},
			{p.Steps[0].Due, 1},
			{p.Steps[1].Due.Add(-time.Millisecond), 1},
			{p.Steps[1].Due, 2},
			{p.Steps[2].Due.Add(time.Hour), 3},
		} {
			open, err := db.OpenSteps(ctx, c.dueBy)
			must(t, err)
			if len(open) != c.want {
				t.Errorf("OpenSteps(due by %s) = %d steps, want %d", c.dueBy.Sub(p.Steps[0].Due), len(open), c.want)
				continue
			}
			for i, s := range open {
				if s != p.Steps[i] {
					t.Errorf("OpenSteps(due by %s)[%d] = %+v, want %+v", c.dueBy.Sub(p.Steps[0].Due), i, s, p.Steps[i])
				}
			}
		}
	})
}
