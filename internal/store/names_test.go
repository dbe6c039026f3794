package store_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

func TestCleanNameRemovesControlsAndBidiAndCollapsesSpace(t *testing.T) {
	for in, want := range map[string]string{
		"Jane\r\nBcc: evil@example.com":      "Jane Bcc: evil@example.com",
		"  Jane \t  Doe  ":                   "Jane Doe",
		"Ja\x00ne\x1b[2J Doe\x7f":            "Jane[2J Doe",
		"Jane\u0085Doe\u2028Smith":           "Jane Doe Smith",
		"\u202eeoD enaJ\u202c":               "eoD enaJ",
		"Jane\u2066\u200f\u200bDoe\u009b31m": "JaneDoe31m",
		"Zoë “Zed” Ōtani":                    "Zoë “Zed” Ōtani",
		strings.Repeat("a", 300):             strings.Repeat("a", 200),
	} {
		if got := store.CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitAddressKeepsTheName(t *testing.T) {
	for in, want := range map[string][2]string{
		"Jane <Jane@Example.com>":               {"Jane", "jane@example.com"},
		`"Doe, Jane" <jane@example.com>`:        {"Doe, Jane", "jane@example.com"},
		"=?utf-8?q?Ren=C3=A9e?= <r@example.fr>": {"Renée", "r@example.fr"},
		"jane@example.com":                      {"", "jane@example.com"},
	} {
		name, email, err := store.SplitAddress(in)
		if err != nil || name != want[0] || email != want[1] {
			t.Errorf("SplitAddress(%q) = %q, %q, %v; want %q, %q", in, name, email, err, want[0], want[1])
		}
	}
	if _, _, err := store.SplitAddress("Jane <jane@example.com>\r\nBcc: x@example.com"); err == nil {
		t.Error("an address with a CR/LF after it was accepted")
	}
}

// The store is the last guard: whatever door a name comes in by, what is
// stored is one clean line.
func TestAddSubscriberStoresCleanNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "jane@example.com",
			Name: "Jane\r\nDoe\u202e", ConsentSource: "import:a\nb.csv", Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		s, err := db.SubscriberByEmail(ctx, "jane@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != "Jane Doe" || s.ConsentSource != "import:a b.csv" {
			t.Errorf("stored name %q, source %q", s.Name, s.ConsentSource)
		}
	})
}

func TestAddSubscriberRefusesUnknownTopic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "jane@example.com", Topics: []string{"posts", "foo"}})
		if err == nil || !strings.Contains(err.Error(), `unknown topic "foo": choose from posts, news`) {
			t.Fatalf("AddSubscriber with topic foo: %v", err)
		}
	})
}

func TestListSubscribersRefusesUnknownStatus(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	_, err := db.ListSubscribers(ctx, "bogus", 0, 0)
	if err == nil || err.Error() != `unknown status "bogus": choose from active, pending, unsubscribed, bounced, complained` {
		t.Fatalf("ListSubscribers(bogus): %v", err)
	}
}

// A name an older version stored with a CR/LF failed every send to that
// person; Eligible hands the sender the name cleaned.
func TestEligibleCleansNamesStoredBefore(t *testing.T) {
	url := storetest.URL(t, "sqlite")
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "jane@example.com", Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", strings.TrimPrefix(url, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE subscribers SET name = ? WHERE id = ?`, "Jane\r\nDoe", res.ID); err != nil {
		t.Fatal(err)
	}
	names, err := db.Eligible(ctx, store.TopicPosts, []int64{res.ID})
	if err != nil {
		t.Fatal(err)
	}
	if names[res.ID] != "Jane Doe" {
		t.Errorf("Eligible gave the name %q", names[res.ID])
	}
}
