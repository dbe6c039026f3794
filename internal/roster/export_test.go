package roster_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/roster"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

func add(t *testing.T, db *store.DB, n store.NewSubscriber) int64 {
	t.Helper()
	res, err := db.AddSubscriber(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return res.ID
}

func TestExportRoundTrips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ada := add(t, db, store.NewSubscriber{Email: "ada@example.com", Name: `=HYPERLINK("https://evil.example")`,
			Topics: []string{"posts", "news"}, Confirmed: true, TimeZone: "America/Denver", ConsentSource: "form",
			ConsentAt: time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)})
		if err := db.SetDigestChoice(ctx, ada, true); err != nil {
			t.Fatal(err)
		}
		add(t, db, store.NewSubscriber{Email: "grace@example.com", Name: "Grace, Hopper", ConsentSource: "cli"})
		gone := add(t, db, store.NewSubscriber{Email: "gone@example.com", Confirmed: true, ConsentSource: "import:old.csv",
			ConsentAt: time.Date(2019, 1, 2, 3, 4, 5, 0, time.UTC)})
		if err := db.SetSubscriberStatus(ctx, gone, store.StatusUnsubscribed); err != nil {
			t.Fatal(err)
		}

		var out bytes.Buffer
		n, err := roster.Export(ctx, db, &out, "")
		if err != nil || n != 3 {
			t.Fatalf("Export = %d, %v; want 3", n, err)
		}
		checkExportCells(t, out.String())

		other := storetest.Open(t, db.Engine())
		sum, err := roster.Import(ctx, other, bytes.NewReader(out.Bytes()), roster.Options{Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]int{"unsubscribed in the file": 1}, sum.Suppressed); diff != "" {
			t.Errorf("suppressed (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(consents(t, db), consents(t, other)); diff != "" {
			t.Errorf("after the round trip (-want +got):\n%s", diff)
		}
	})
}

// consent is what a round trip must keep of a subscriber: the person and
// their consent record.
type consent struct {
	Person person
	Source string
	At     time.Time
}

func consents(t *testing.T, db *store.DB) []consent {
	t.Helper()
	subs, err := db.ListSubscribers(ctx, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []consent
	for _, s := range subs {
		out = append(out, consent{person{s.Email, s.Name, s.Status, s.TimeZone, s.Topics},
			s.ConsentSource, s.ConsentAt.Truncate(time.Second)})
	}
	return out
}

// checkExportCells checks the header, the formula escape and the time format.
func checkExportCells(t *testing.T, text string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"email", "name", "status", "topics", "time_zone", "consent_source", "consent_at", "created_at",
		"id", "consent_page", "consent_ip", "confirmed_at", "unsubscribed_at", "updated_at", "bounce_count",
		"weekly_digest", "signups", "bounces", "deliveries"}
	if diff := cmp.Diff(wantHeader, recs[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	ada := recs[1]
	if ada[1] != `'=HYPERLINK("https://evil.example")` {
		t.Errorf("name cell %q: a spreadsheet would run it as a formula", ada[1])
	}
	if ada[3] != "news posts" || ada[2] != "active" || ada[5] != "form" {
		t.Errorf("row %q", ada)
	}
	for _, i := range []int{6, 7, 13} {
		if _, err := time.Parse(time.RFC3339, ada[i]); err != nil {
			t.Errorf("time cell %s: %v", recs[0][i], err)
		}
	}
	if ada[15] != "true" || recs[2][15] != "false" {
		t.Errorf("weekly_digest of ada (chose the digest) %q and of grace %q, want true and false", ada[15], recs[2][15])
	}
	if got := ada[16:]; !slices.Equal(got, []string{"[]", "[]", "[]"}) {
		t.Errorf("signups, bounces, deliveries of a person added by hand = %q, want empty JSON arrays", got)
	}
}

func TestExportPagesAndFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := roster.Import(ctx, db, strings.NewReader(rows(1001)), roster.Options{}); err != nil {
			t.Fatal(err)
		}
		add(t, db, store.NewSubscriber{Email: "active@example.com", Confirmed: true})

		var all bytes.Buffer
		n, err := roster.Export(ctx, db, &all, "")
		if err != nil || n != 1002 {
			t.Fatalf("Export all = %d, %v; want 1002", n, err)
		}
		recs, err := csv.NewReader(&all).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range recs[1:] {
			seen[r[0]] = true
		}
		if len(recs) != 1003 || len(seen) != 1002 {
			t.Errorf("%d records, %d distinct addresses; want a header and 1002", len(recs), len(seen))
		}

		var active bytes.Buffer
		n, err = roster.Export(ctx, db, &active, store.StatusActive)
		if err != nil || n != 1 || !strings.Contains(active.String(), "\nactive@example.com,") {
			t.Errorf("Export active = %d, %v:\n%s", n, err, active.String())
		}
	})
}
