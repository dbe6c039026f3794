package roster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	_ "time/tzdata" // the time zone checks must not depend on the machine's zoneinfo

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/practicemail/practicemail/internal/roster"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

var ctx = context.Background()

// person is what a test checks of a subscriber.
type person struct {
	Email, Name, Status, TimeZone string
	Topics                        []string
}

func people(t *testing.T, db *store.DB) []person {
	t.Helper()
	subs, err := db.ListSubscribers(ctx, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []person
	for _, s := range subs {
		out = append(out, person{s.Email, s.Name, s.Status, s.TimeZone, s.Topics})
	}
	return out
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func importFile(t *testing.T, db *store.DB, name string, o roster.Options) *roster.Summary {
	t.Helper()
	s, err := roster.Import(ctx, db, bytes.NewReader(fixture(t, name)), o)
	if err != nil {
		t.Fatalf("Import(%s): %v", name, err)
	}
	return s
}

var posts = []string{"posts"}

func TestImportFormats(t *testing.T) {
	tests := []struct {
		file string
		o    roster.Options
		sum  roster.Summary
		want []person
	}{{
		file: "simple.csv",
		sum:  roster.Summary{Rows: 2, Added: 2},
		want: []person{
			{"ada@example.com", "Ada Lovelace", "pending", "", posts},
			{"grace@example.com", "Grace Hopper", "pending", "", posts},
		},
	}, {
		file: "mailchimp.csv",
		o:    roster.Options{Confirmed: true, Topics: []string{"news"}},
		sum: roster.Summary{Rows: 5, Added: 3, Suppressed: map[string]int{
			"unsubscribed in the file":      1,
			"bounced in the file (cleaned)": 1,
		}, Notes: []string{"1 unknown time zones left empty"}},
		want: []person{
			{"ada@example.com", "Ada Lovelace", "active", "Europe/London", []string{"news"}},
			{"grace@example.com", "Grace", "active", "", []string{"news"}},
			{"gone@example.com", "Gone Away", "unsubscribed", "", []string{"news"}},
			{"dead@example.com", "Dead Box", "bounced", "", []string{"news"}},
			{"pend@example.com", "Pen Ding", "pending", "", []string{"news"}}, // never confirmed there
		},
	}, {
		file: "substack.csv",
		o:    roster.Options{Confirmed: true},
		sum:  roster.Summary{Rows: 3, Added: 2, Suppressed: map[string]int{"email disabled in the file": 1}},
		want: []person{
			{"reader@example.com", "", "active", "", posts},
			{"paid@example.com", "", "active", "", posts},
			{"quiet@example.com", "", "unsubscribed", "", posts},
		},
	}, {
		file: "convertkit.csv",
		sum:  roster.Summary{Rows: 2, Added: 2},
		want: []person{
			{"mary@example.com", "Mary", "pending", "", posts},
			{"anon@example.com", "", "pending", "", posts},
		},
	}, {
		file: "semicolon-bom-crlf.csv",
		sum: roster.Summary{Rows: 3, Added: 2, Skipped: []roster.Skipped{
			{4, "an;na@example.de", `invalid email address: "an;na@example.de"`},
		}},
		want: []person{
			{"jo@example.de", "Jörg Müller", "pending", "", posts},
			{"anna@example.de", "Anna Schmidt", "pending", "", posts},
		},
	}, {
		file: "windows-1252.csv",
		sum: roster.Summary{Rows: 2, Added: 2,
			Notes: []string{"decoded as Windows-1252 (the file is not valid UTF-8)"}},
		want: []person{
			{"renee@example.fr", "Renée François", "pending", "", posts},
			{"zoe@example.com", "Zoë “Zed”", "pending", "", posts},
		},
	}, {
		file: "excel-utf16.txt",
		sum:  roster.Summary{Rows: 2, Added: 2, Notes: []string{"decoded as UTF-16"}},
		want: []person{
			{"kai@example.com", "Kaï Tab", "pending", "", posts},
			{"noa@example.com", "Noä, Quoted", "pending", "", posts},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				sum := importFile(t, db, tt.file, tt.o)
				if diff := cmp.Diff(&tt.sum, sum, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("summary (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.want, people(t, db)); diff != "" {
					t.Errorf("subscribers (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestFixturesKeepTheirBytes(t *testing.T) {
	// A git checkout with autocrlf, or an editor, could quietly turn these
	// fixtures into the easy case.
	b := fixture(t, "semicolon-bom-crlf.csv")
	if !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) || !bytes.Contains(b, []byte("\r\n")) {
		t.Error("semicolon-bom-crlf.csv lost its BOM or its CRLF line ends")
	}
	if b := fixture(t, "windows-1252.csv"); !bytes.Contains(b, []byte("Ren\xe9e")) {
		t.Error("windows-1252.csv is no longer Windows-1252")
	}
	if b := fixture(t, "excel-utf16.txt"); !bytes.HasPrefix(b, []byte("\xff\xfe")) {
		t.Error("excel-utf16.txt lost its UTF-16 byte-order mark")
	}
}

func TestImportSkipsBadRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sum := importFile(t, db, "bad.csv", roster.Options{Confirmed: true})
		want := &roster.Summary{Rows: 8, Added: 3, Skipped: []roster.Skipped{
			{4, "bob@", `invalid email address: "bob@"`},
			{5, "Good@Example.com", "duplicate of line 2"},
			{6, "", "no email field: the row has 1 fields, the header 3"},
			{10, "", "no email address"},
			{11, "Bob", `invalid email address: "Bob" (the row has 4 fields, the header 3)`},
		}}
		if diff := cmp.Diff(want, sum); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
		wantPeople := []person{
			{"good@example.com", "Good One", "active", "", posts},
			{"multi@example.com", "Multi Line, Name", "active", "", posts}, // one line, safe in a header
			{"last@example.com", "Last Good", "active", "", posts},
		}
		if diff := cmp.Diff(wantPeople, people(t, db)); diff != "" {
			t.Errorf("subscribers (-want +got):\n%s", diff)
		}
	})
}

func TestImportWithoutEmailColumnImportsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sum, err := roster.Import(ctx, db, bytes.NewReader(fixture(t, "no-email.csv")), roster.Options{})
		if !errors.Is(err, roster.ErrNoEmailColumn) {
			t.Fatalf("Import = %v, %v; want ErrNoEmailColumn", sum, err)
		}
		if !strings.Contains(err.Error(), `the header has "Name", "Phone", "Notes"`) {
			t.Errorf("error %q does not name the headers found", err)
		}
		if got := people(t, db); len(got) != 0 {
			t.Errorf("imported %v", got)
		}
	})
}

func TestImportRejectsEmptyFile(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	if _, err := roster.Import(ctx, db, strings.NewReader(""), roster.Options{}); err == nil {
		t.Fatal("Import of an empty file succeeded")
	}
}

func TestReimportUpdates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		importFile(t, db, "simple.csv", roster.Options{})
		sum := importFile(t, db, "simple.csv", roster.Options{Topics: []string{"news"}})
		if diff := cmp.Diff(&roster.Summary{Rows: 2, Updated: 2}, sum, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("second import (-want +got):\n%s", diff)
		}
		for _, p := range people(t, db) {
			if diff := cmp.Diff([]string{"news", "posts"}, p.Topics); diff != "" {
				t.Errorf("%s topics (-want +got):\n%s", p.Email, diff)
			}
		}
	})
}

func TestConfirmed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		importFile(t, db, "simple.csv", roster.Options{})
		if got := statuses(t, db); got != "pending pending" {
			t.Fatalf("without Confirmed: %s", got)
		}
		importFile(t, db, "simple.csv", roster.Options{Confirmed: true})
		if got := statuses(t, db); got != "active active" {
			t.Fatalf("with Confirmed: %s", got)
		}
	})
}

func statuses(t *testing.T, db *store.DB) string {
	var s []string
	for _, p := range people(t, db) {
		s = append(s, p.Status)
	}
	return strings.Join(s, " ")
}

func TestReimportKeepsUnsubscribed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		importFile(t, db, "simple.csv", roster.Options{Confirmed: true})
		ada, err := db.SubscriberByEmail(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetSubscriberStatus(ctx, ada.ID, store.StatusUnsubscribed); err != nil {
			t.Fatal(err)
		}
		sum := importFile(t, db, "simple.csv", roster.Options{Confirmed: true})
		if got := statuses(t, db); got != "unsubscribed active" {
			t.Errorf("after re-import: %s, want ada still unsubscribed", got)
		}
		want := []string{"1 of the updated people had unsubscribed, bounced or complained before and stay so"}
		if diff := cmp.Diff(want, sum.Notes); diff != "" {
			t.Errorf("notes (-want +got):\n%s", diff)
		}
	})
}

// rows returns an email,name CSV with n data rows.
func rows(n int) string {
	var b strings.Builder
	b.WriteString("email,name\n")
	for i := range n {
		fmt.Fprintf(&b, "person%d@example.com,Person %d\n", i, i)
	}
	return b.String()
}

func TestProgress(t *testing.T) {
	// The engine makes no difference here, and 1201 rows take a while under -race.
	db := storetest.Open(t, "sqlite")
	var calls [][2]int
	o := roster.Options{Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }}
	sum, err := roster.Import(ctx, db, strings.NewReader(rows(1201)), o)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{500, 1201}, {1000, 1201}, {1201, 1201}}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("progress calls (-want +got):\n%s", diff)
	}
	if sum.Rows != 1201 || sum.Added != 1201 {
		t.Errorf("summary %+v", sum)
	}
}
