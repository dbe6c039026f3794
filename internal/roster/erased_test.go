package roster_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/roster"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// An import never brings back someone who asked to be forgotten: the row is
// skipped with the reason "erased", in file order among the other bad rows,
// and the summary says what that means.
func TestImportSkipsErasedPeople(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		key := []byte("a-link-key-of-32-bytes-for-tests")
		db.SuppressionKey = key
		add(t, db, store.NewSubscriber{Email: "ann@example.com", Confirmed: true})
		add(t, db, store.NewSubscriber{Email: "jane@example.com", Name: "Jane", Confirmed: true})
		if err := db.EraseSubscriber(ctx, "jane@example.com", key); err != nil {
			t.Fatal(err)
		}
		csv := "email,name\nann@example.com,Ann\nJane@Example.com,Jane Again\nnot-an-address,X\nbob@example.com,Bob\n"
		sum, err := roster.Import(ctx, db, strings.NewReader(csv), roster.Options{Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Added != 1 || sum.Updated != 1 {
			t.Errorf("added %d, updated %d; want bob added, ann updated", sum.Added, sum.Updated)
		}
		var lines []int
		for _, k := range sum.Skipped {
			lines = append(lines, k.Line)
		}
		if diff := cmp.Diff([]int{3, 4}, lines); diff != "" || sum.Skipped[0].Reason != roster.ReasonErased {
			t.Errorf("skipped %+v; want line 3 erased, then line 4 (-want +got lines):\n%s", sum.Skipped, diff)
		}
		var out bytes.Buffer
		sum.Write(&out)
		for _, want := range []string{
			"added 1, updated 1, skipped 2:\n  line 3: jane@example.com: erased\n  line 4: not-an-address: ",
			"note: 1 erased people skipped: they asked to be forgotten",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, out.String())
			}
		}
		if _, err := db.SubscriberByEmail(ctx, "jane@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after the import jane is held again: %v", err)
		}
	})
}

// An import never brings back someone who asked to be forgotten: their row
// is skipped, by line, with the reason, and nobody else is held up.
func TestImportSkipsTheErasedAndNobodyElse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		key := []byte("a link key of sixteen bytes or more")
		db.SuppressionKey = key
		if _, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "gone@example.com", Confirmed: true}); err != nil {
			t.Fatal(err)
		}
		if err := db.EraseSubscriber(ctx, "gone@example.com", key); err != nil {
			t.Fatal(err)
		}
		csv := "email,name\nstays@example.com,Stays\nGone@Example.com,Gone\n"
		sum, err := roster.Import(ctx, db, strings.NewReader(csv), roster.Options{Confirmed: true, Source: "import:test.csv"})
		if err != nil {
			t.Fatal(err)
		}
		want := []roster.Skipped{{Line: 3, Email: "gone@example.com",
			Reason: roster.ReasonErased}}
		if d := cmp.Diff(want, sum.Skipped); d != "" || sum.Added != 1 || sum.Updated != 0 {
			t.Errorf("summary %+v; skipped (-want +got):\n%s", sum, d)
		}
		if d := cmp.Diff([]person{{Email: "stays@example.com", Name: "Stays", Status: "active", Topics: []string{"posts"}}}, people(t, db)); d != "" {
			t.Errorf("people (-want +got):\n%s", d)
		}
	})
}
