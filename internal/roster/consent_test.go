package roster_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/roster"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// The reported case: Mailchimp's unsubscribed export has no status column,
// only UNSUB_TIME, and an import of it with --confirmed made everyone active.
func TestMailchimpUnsubscribedExportWithConfirmedIsSuppressed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// ada is active here already; the export says she left since.
		add(t, db, store.NewSubscriber{Email: "ada@example.com", Confirmed: true})
		sum := importFile(t, db, "mailchimp-unsubscribed.csv",
			roster.Options{Confirmed: true, Source: "import:unsubscribed.csv"})
		if got := statuses(t, db); got != "unsubscribed unsubscribed" {
			t.Errorf("statuses after import: %s, want both unsubscribed", got)
		}
		var out bytes.Buffer
		sum.Write(&out)
		want := "added 0, updated 0, suppressed 2, skipped 0\nsuppressed (unsubscribed in the file): 2\n"
		if out.String() != want {
			t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
		}
	})
}

func TestMailchimpCleanedExportIsBounced(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sum := importFile(t, db, "mailchimp-cleaned.csv", roster.Options{Confirmed: true})
		if got := statuses(t, db); got != "bounced" {
			t.Errorf("status after import: %s, want bounced", got)
		}
		if diff := cmp.Diff(map[string]int{"bounced in the file (cleaned)": 1}, sum.Suppressed); diff != "" {
			t.Errorf("suppressed (-want +got):\n%s", diff)
		}
	})
}

func TestKitStatesDecideStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sum := importFile(t, db, "kit.csv", roster.Options{Confirmed: true})
		want := "active active pending unsubscribed bounced complained"
		if got := statuses(t, db); got != want {
			t.Errorf("statuses: %s, want %s", got, want)
		}
		wantSkipped := []roster.Skipped{{8, "odd@example.com", `unknown status "vip"`}}
		if diff := cmp.Diff(wantSkipped, sum.Skipped); diff != "" {
			t.Errorf("skipped (-want +got):\n%s", diff)
		}
		wantSuppressed := map[string]int{"unsubscribed in the file": 1, "bounced in the file": 1, "complained in the file": 1}
		if diff := cmp.Diff(wantSuppressed, sum.Suppressed); diff != "" {
			t.Errorf("suppressed (-want +got):\n%s", diff)
		}
	})
}

// The consent record is the file's: when the person opted in there, and
// where, not the moment of the import.
func TestImportKeepsTheFilesOptInTimeAndSource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		importFile(t, db, "mailchimp-unsubscribed.csv", roster.Options{Source: "import:unsubscribed.csv"})
		importFile(t, db, "kit.csv", roster.Options{Source: "import:kit.csv"})
		want := map[string]struct {
			source string
			at     time.Time
		}{
			"left@example.com": {"mailchimp via import:unsubscribed.csv", time.Date(2019, 4, 5, 6, 7, 8, 0, time.UTC)},
			"ada@example.com":  {"mailchimp via import:unsubscribed.csv", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}, // CONFIRM_TIME only
			"kept@example.com": {"import:kit.csv", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
			"cold@example.com": {"import:kit.csv", time.Date(2021, 5, 1, 10, 0, 0, 0, time.UTC)},
		}
		for email, w := range want {
			s, err := db.SubscriberByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if s.ConsentSource != w.source || !s.ConsentAt.Equal(w.at) {
				t.Errorf("%s: consent %q at %v, want %q at %v", email, s.ConsentSource, s.ConsentAt.UTC(), w.source, w.at)
			}
		}
	})
}

// No file brings back someone who left: not one that says they are
// subscribed, imported with --confirmed, and not one that says they left
// for another reason (a bounce stays a bounce).
func TestImportNeverReactivatesSuppressed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for email, status := range map[string]string{"gone@example.com": store.StatusBounced,
			"quit@example.com": store.StatusComplained, "kept@example.com": store.StatusUnsubscribed} {
			id := add(t, db, store.NewSubscriber{Email: email, Confirmed: true})
			if err := db.SetSubscriberStatus(ctx, id, status); err != nil {
				t.Fatal(err)
			}
		}
		importFile(t, db, "kit.csv", roster.Options{Confirmed: true})
		for email, want := range map[string]string{"gone@example.com": store.StatusBounced,
			"quit@example.com": store.StatusComplained, "kept@example.com": store.StatusUnsubscribed} {
			s, err := db.SubscriberByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if s.Status != want {
				t.Errorf("%s is %s after the import, want %s still", email, s.Status, want)
			}
		}
	})
}

func TestImportRefusesUnknownTopics(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	_, err := roster.Import(ctx, db, strings.NewReader(rows(2)), roster.Options{Topics: []string{"foo"}})
	if err == nil || err.Error() != `unknown topic "foo": choose from posts, news` {
		t.Fatalf("Import with topic foo: %v", err)
	}
	sum, err := roster.Import(ctx, db, strings.NewReader("email,topics\na@example.com,posts news\nb@example.com,posts foo\n"), roster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []roster.Skipped{{3, "b@example.com", `unknown topic "foo": choose from posts, news`}}
	if diff := cmp.Diff(want, sum.Skipped); diff != "" || sum.Added != 1 {
		t.Errorf("added %d; skipped (-want +got):\n%s", sum.Added, diff)
	}
}
