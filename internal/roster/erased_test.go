package roster_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/roster"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// An import never brings back someone who asked to be forgotten: their row
// is skipped, by line, with the reason, and nobody else is held up.
func TestImportSkipsTheErased(t *testing.T) {
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
			Reason: "erased at their request: only their own new confirmation brings them back"}}
		if d := cmp.Diff(want, sum.Skipped); d != "" || sum.Added != 1 || sum.Updated != 0 {
			t.Errorf("summary %+v; skipped (-want +got):\n%s", sum, d)
		}
		if d := cmp.Diff([]person{{Email: "stays@example.com", Name: "Stays", Status: "active", Topics: []string{"posts"}}}, people(t, db)); d != "" {
			t.Errorf("people (-want +got):\n%s", d)
		}
	})
}
