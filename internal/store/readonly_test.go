package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// `status` must read when the journal cannot be folded — the disk full,
// the database read-only: a read does not fail because the fold, a write,
// did. It reads the rows merged with the journal, and says how many
// outcomes that took.
func TestLedgerReadsWhenTheFoldCannotBeWritten(t *testing.T) {
	url := storetest.URL(t, "sqlite")
	db := storetest.OpenAt(t, url)
	b := newBatch(t, db, 3)
	rows, err := db.Claim(ctx, b, "w", time.Now().Add(time.Minute))
	must(t, err)
	for i, o := range []store.Outcome{
		{ID: rows[0].ID, State: store.DeliverySent, Reply: "250 ok", MessageID: "<m0@x>"},
		{ID: rows[1].ID, State: store.DeliveryFailed, Reply: "550 no"},
	} {
		if held, err := db.Record(ctx, "w", o); err != nil || !held {
			t.Fatalf("record %d: %v %v", i, held, err)
		}
	}
	// The outcomes are in the journal, not yet in their rows. A reader
	// that may not write sees them all the same.
	ro, err := store.Open(ctx, url+"?mode=ro")
	must(t, err)
	defer ro.Close()
	c, err := ro.Counts(ctx)
	if err != nil {
		t.Fatalf("Counts on a read-only database with a journal to fold: %v", err)
	}
	if d := cmp.Diff(map[string]int64{"sent": 1, "failed": 1, "queued": 0, "sending": 1}, c.Deliveries); d != "" || c.Unfolded != 2 {
		t.Fatalf("deliveries by state (-want +got):\n%s\nunfolded %d, want 2", d, c.Unfolded)
	}
	ds, err := ro.Deliveries(ctx, store.KindPost, 1)
	must(t, err)
	if ds[0].State != store.DeliverySent || ds[0].MessageID != "<m0@x>" || ds[0].Attempts != 1 || ds[0].SentAt.IsZero() ||
		ds[1].State != store.DeliveryFailed || ds[1].LastReply != "550 no" || ds[2].State != store.DeliveryQueued {
		t.Fatalf("deliveries read merged with the journal: %+v", ds)
	}
	if _, err := ro.Sending(ctx); err != nil {
		t.Fatalf("Sending: %v", err)
	}
	if _, err := ro.ListSubscribers(ctx, "", 0, 0); err != nil {
		t.Fatalf("ListSubscribers: %v", err)
	}
	// The writer folds as before, and reads the same.
	c, err = db.Counts(ctx)
	must(t, err)
	if d := cmp.Diff(map[string]int64{"sent": 1, "failed": 1, "queued": 0, "sending": 1}, c.Deliveries); d != "" || c.Unfolded != 0 {
		t.Fatalf("after the fold (-want +got):\n%s\nunfolded %d, want 0", d, c.Unfolded)
	}
}

// Migrating a database that is already current writes nothing, so a command
// that migrates at start (`status`) still starts on a read-only database.
func TestMigrateStartsOnACurrentReadOnlyDatabase(t *testing.T) {
	url := storetest.URL(t, "sqlite")
	storetest.OpenAt(t, url) // migrated
	ro, err := store.Open(ctx, url+"?mode=ro")
	must(t, err)
	defer ro.Close()
	if n, err := ro.Migrate(ctx); err != nil || n != 0 {
		t.Fatalf("Migrate on a current, read-only database = %d, %v; want 0, nil", n, err)
	}
}
