package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// Sign-ups that arrive while one is being written share the next
// transaction, and each still gets what it would alone: one confirmation
// per new address, nothing more for a repeat of an address in the same
// group, and an error for a request that fails (here, by a trigger) that
// fails it alone.
func TestSignupsArrivingTogetherShareACommit(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			db := storetest.OpenAt(t, url)
			raw := storetest.Raw(t, url)
			boom := []string{`CREATE TRIGGER boom BEFORE INSERT ON subscribers
				WHEN (NEW.email = 'boom@example.org') BEGIN SELECT RAISE(ABORT, 'boom'); END`}
			if engine == "postgres" {
				boom = []string{`CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql`,
					`CREATE TRIGGER boom BEFORE INSERT ON subscribers FOR EACH ROW
				WHEN (NEW.email = 'boom@example.org') EXECUTE FUNCTION boom()`}
			}
			for _, q := range boom {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			release := db.HoldSignups()

			var emails []string
			for i := range 32 {
				emails = append(emails, fmt.Sprintf("reader%02d@example.org", i))
			}
			emails = append(emails, "reader00@example.org", "reader01@example.org", "boom@example.org")
			results := make([]store.SignupResult, len(emails))
			errs := make([]error, len(emails))
			var wg sync.WaitGroup
			for i, e := range emails {
				wg.Go(func() { results[i], errs[i] = db.RequestSignup(ctx, signup(e)) })
			}
			waitFor(t, func() bool { return db.PendingSignups() == len(emails) })
			release()
			wg.Wait()

			outcomes := map[string][]string{}
			for i, e := range emails {
				if e == "boom@example.org" {
					if errs[i] == nil {
						t.Errorf("the request the trigger refuses succeeded: %+v", results[i])
					}
					continue
				}
				if errs[i] != nil {
					t.Fatalf("%s: %v (one request's failure failed another)", e, errs[i])
				}
				outcomes[e] = append(outcomes[e], results[i].Outcome)
			}
			for e, got := range outcomes {
				want := 1
				if e == "reader00@example.org" || e == "reader01@example.org" {
					want = 2
				}
				confirms := 0
				for _, o := range got {
					if o == store.SignupConfirm {
						confirms++
					} else if o != store.SignupThrottled {
						t.Errorf("%s: outcome %q", e, o)
					}
				}
				if len(got) != want || confirms != 1 {
					t.Errorf("%s: outcomes %q, want %d with one confirmation", e, got, want)
				}
			}
			var rows, people int
			if err := raw.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT recipient) FROM deliveries WHERE kind = 'confirm'`).Scan(&rows, &people); err != nil {
				t.Fatal(err)
			}
			if rows != 32 || people != 32 {
				t.Errorf("%d confirmation rows for %d people, want one each for 32", rows, people)
			}
			if n := db.SignupCommits(); n != 1 {
				t.Errorf("%d transactions for %d sign-ups waiting together, want 1", n, len(emails))
			}
		})
	}
}

// A sign-up that finds none being written is written at once, alone.
func TestALoneSignupIsWrittenAtOnce(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	for i := range 3 {
		r, err := db.RequestSignup(ctx, signup(fmt.Sprintf("solo%d@example.org", i)))
		must(t, err)
		if r.Outcome != store.SignupConfirm {
			t.Fatalf("outcome %q", r.Outcome)
		}
	}
	if n := db.SignupCommits(); n != 3 {
		t.Errorf("%d transactions for 3 sign-ups one after another, want 3", n)
	}
}

// waitFor polls cond until it holds, failing after a minute: a hang, not a
// speed limit.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
