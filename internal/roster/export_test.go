package roster_test

import (
	"bytes"
	"encoding/csv"
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
		add(t, db, store.NewSubscriber{Email: "ada@example.com", Name: `=HYPERLINK("https://evil.example")`,
			Topics: []string{"posts", "news"}, Confirmed: true, TimeZone: "America/Denver", ConsentSource: "form"})
		add(t, db, store.NewSubscriber{Email: "grace@example.com", Name: "Grace, Hopper"})
		gone := add(t, db, store.NewSubscriber{Email: "gone@example.com", Confirmed: true})
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
		wantSkipped := []roster.Skipped{{4, "gone@example.com", "unsubscribed in export"}}
		if diff := cmp.Diff(wantSkipped, sum.Skipped); diff != "" {
			t.Errorf("skipped (-want +got):\n%s", diff)
		}
		want := people(t, db)[:2] // everyone but the one who left
		if diff := cmp.Diff(want, people(t, other)); diff != "" {
			t.Errorf("after the round trip (-want +got):\n%s", diff)
		}
	})
}

// checkExportCells checks the header, the formula escape and the time format.
func checkExportCells(t *testing.T, text string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"email", "name", "status", "topics", "time_zone", "consent_source", "consent_at", "created_at"}
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
	for _, cell := range ada[6:] {
		if _, err := time.Parse(time.RFC3339, cell); err != nil {
			t.Errorf("time cell: %v", err)
		}
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
