package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// On SQLite a sign-up is written in the recorder's next group, with the
// outcomes of the messages then in flight: one commit, not one each. A
// sign-up that fails (here, by a trigger) is undone alone, and the
// outcomes it rode with are written all the same.
func TestSignupsRideTheOutcomesCommit(t *testing.T) {
	url := storetest.URL(t, "sqlite")
	db := storetest.OpenAt(t, url)
	raw := storetest.Raw(t, url)
	if _, err := raw.Exec(`CREATE TRIGGER boom BEFORE INSERT ON subscribers
		WHEN (NEW.email = 'boom@example.org') BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	b := newBatch(t, db, 6)
	rows, err := db.Claim(ctx, b, "a", time.Now().Add(time.Minute))
	must(t, err)
	db.RecordGroup = 1 // each outcome is written as soon as the recorder can

	// ride hands three outcomes and a sign-up to a recorder held up by a
	// long write, then lets it go, and reports whether each outcome held,
	// the sign-up's error, and how many groups the recorder wrote.
	ride := func(outcomes []store.Outcome, email string) ([]bool, error, int64) {
		t.Helper()
		before := db.RecorderGroups()
		release := db.HoldWrites()
		// The first outcome's group waits for the lock; the rest gather
		// behind it.
		recs := []*store.Recording{db.RecordAsync("a", outcomes[0], nil)}
		waitFor(t, func() bool { o, _ := db.PendingRecords(); return o == 0 })
		for _, o := range outcomes[1:] {
			recs = append(recs, db.RecordAsync("a", o, nil))
		}
		var signupErr error
		var wg sync.WaitGroup
		wg.Go(func() { _, signupErr = db.RequestSignup(ctx, signup(email)) })
		waitFor(t, func() bool { o, r := db.PendingRecords(); return o == len(outcomes)-1 && r == 1 })
		release()
		wg.Wait()
		held := make([]bool, len(recs))
		for i, r := range recs {
			ok, err := r.Wait(ctx)
			must(t, err)
			held[i] = ok
		}
		return held, signupErr, db.RecorderGroups() - before
	}
	sent := func(r store.Claimed) store.Outcome {
		return store.Outcome{ID: r.ID, State: store.DeliverySent, Reply: "250 ok", MessageID: "<" + r.Recipient + ">"}
	}

	held, err, commits := ride([]store.Outcome{sent(rows[0]), sent(rows[1]), sent(rows[2])}, "ana@example.org")
	must(t, err)
	if held[0] != true || held[1] != true || held[2] != true {
		t.Errorf("outcomes held %v, want all", held)
	}
	if commits != 2 {
		t.Errorf("%d groups written, want 2: the one that waited for the lock, then the rest with the sign-up", commits)
	}

	held, err, _ = ride([]store.Outcome{sent(rows[3]), sent(rows[4]), sent(rows[5])}, "boom@example.org")
	if err == nil {
		t.Error("the sign-up the trigger refuses succeeded")
	}
	if held[0] != true || held[1] != true || held[2] != true {
		t.Errorf("outcomes held %v beside a failed sign-up, want all", held)
	}

	_, err = db.ReleaseLease(ctx, b, "a", time.Time{})
	must(t, err)
	var sentRows, confirms, people int
	must(t, raw.QueryRow(`SELECT COUNT(*) FROM deliveries WHERE kind = 'post' AND state = 'sent'`).Scan(&sentRows))
	must(t, raw.QueryRow(`SELECT COUNT(*) FROM deliveries WHERE kind = 'confirm'`).Scan(&confirms))
	must(t, raw.QueryRow(`SELECT COUNT(*) FROM subscribers WHERE email IN ('ana@example.org', 'boom@example.org')`).Scan(&people))
	if sentRows != 6 || confirms != 1 || people != 1 {
		t.Errorf("%d posts sent, %d confirmations, %d people signed up; want 6, 1 (ana's) and 1", sentRows, confirms, people)
	}
}
