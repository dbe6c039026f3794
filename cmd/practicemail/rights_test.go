package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

const rightsKey = "a-link-key-of-32-bytes-for-tests"

// rightsCLI is a cli on a fresh database of engine, with a link key, and
// the store it uses.
func rightsCLI(t *testing.T, engine string) (*cli, *store.DB) {
	t.Helper()
	c := newCLI(t)
	url := storetest.URL(t, engine)
	conf := "database:\n  url: " + url + "\nsecrets:\n  link_key: " + rightsKey + "\n"
	if err := os.WriteFile(c.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return c, storetest.OpenAt(t, url)
}

// janeSignsUp gives jane everything a person can leave: a sign-up from a
// form with its page and IP, a confirmation in the ledger, consent, topics
// and a bounce.
func janeSignsUp(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.RequestSignup(ctx, store.SignupRequest{Email: "Jane@Example.com", Name: "Jane Doe",
		Topics: []string{"posts", "news"}, Source: "form", PageURL: "https://blog.example/join", IP: "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	s, err := db.SubscriberByEmail(ctx, "jane@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ConfirmSubscriber(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordBounce(ctx, store.Bounce{Email: "jane@example.com", Type: "soft", Status: "4.2.2",
		Reason: "mailbox full", Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
}

// Export gives a person everything held about them, in JSON and CSV; erase
// leaves nothing of them but the keyed hash, which keeps the address out of
// later imports; unknown addresses fail clearly.
func TestSubscribersExportAndErase(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c, db := rightsCLI(t, engine)
			janeSignsUp(t, db)
			c.ok("subscribers", "add", "ann@example.com", "--confirmed")

			checkJanesJSON(t, c.ok("subscribers", "export", "jane@example.com", "--json"))
			checkJanesCSV(t, c.ok("subscribers", "export"), 2)
			checkJanesCSV(t, c.ok("subscribers", "export", "jane@example.com"), 1)
			var everyone []store.Person
			if err := json.Unmarshal([]byte(c.ok("subscribers", "export", "--json")), &everyone); err != nil || len(everyone) != 2 {
				t.Errorf("export --json: %d people, %v; want 2", len(everyone), err)
			}
			if out := c.ok("subscribers", "export", "--json", "--status", "pending"); out != "[]\n" {
				t.Errorf("export --json of nobody = %q, want an empty array", out)
			}

			out := c.ok("subscribers", "erase", "jane@example.com")
			for _, want := range []string{"(jane@example.com), who was active:", "2 topics", "1 email in the ledger",
				"1 sign-up;", "1 bounce", "keyed hash in suppressions"} {
				if !strings.Contains(out, want) {
					t.Errorf("erase said:\n%s\nwant it to say %q", out, want)
				}
			}
			checkJaneGone(t, c, db)
		})
	}
}

func checkJanesJSON(t *testing.T, out string) {
	t.Helper()
	var p store.Person
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("export --json of one person: %v\n%s", err, out)
	}
	got := []any{p.Email, p.Name, p.Status, p.Topics, p.ConsentSource, p.ConsentPage, p.ConsentIP,
		p.ConsentAt.IsZero(), len(p.Signups), len(p.Bounces), len(p.Deliveries)}
	want := []any{"jane@example.com", "Jane Doe", "active", []string{"news", "posts"}, "form", "https://blog.example/join",
		"192.0.2.7", false, 1, 1, 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jane's export (-want +got):\n%s\n%s", diff, out)
	}
	if len(p.Signups) == 1 && (p.Signups[0].PageURL != "https://blog.example/join" || p.Signups[0].IP != "192.0.2.7") {
		t.Errorf("signup %+v", p.Signups[0])
	}
	if len(p.Bounces) == 1 && (p.Bounces[0].Type != "soft" || p.Bounces[0].Reason != "mailbox full") {
		t.Errorf("bounce %+v", p.Bounces[0])
	}
	if len(p.Deliveries) == 1 && (p.Deliveries[0].Kind != store.KindConfirm || p.Deliveries[0].CreatedAt.IsZero()) {
		t.Errorf("delivery %+v", p.Deliveries[0])
	}
}

// checkJanesCSV finds jane's row, the first of people, by the header's
// names.
func checkJanesCSV(t *testing.T, out string, people int) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != people+1 {
		t.Fatalf("export: %d records, %v; want a header and %d\n%s", len(recs), err, people, out)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	var deliveries []store.DeliveryRecord
	if err := json.Unmarshal([]byte(row["deliveries"]), &deliveries); err != nil || len(deliveries) != 1 {
		t.Errorf("deliveries cell %q: %v", row["deliveries"], err)
	}
	if row["email"] != "jane@example.com" || row["consent_page"] != "https://blog.example/join" ||
		row["consent_ip"] != "192.0.2.7" || !strings.Contains(row["signups"], `"kind":"confirm"`) ||
		!strings.Contains(row["bounces"], `"mailbox full"`) {
		t.Errorf("jane's row: %q", row)
	}
}

func checkJaneGone(t *testing.T, c *cli, db *store.DB) {
	t.Helper()
	if erased, err := db.IsErased(context.Background(), "JANE@example.com", []byte(rightsKey)); err != nil || !erased {
		t.Errorf("IsErased after erase = %v, %v", erased, err)
	}
	if out := c.ok("subscribers", "export"); strings.Contains(strings.ToLower(out), "jane") || strings.Count(out, "\n") != 2 {
		t.Errorf("export after erasure:\n%s", out)
	}
	if out := c.ok("subscribers", "erase", "jane@example.com"); !strings.Contains(out, "already erased") {
		t.Errorf("a second erase said %q", out)
	}
	path := filepath.Join(t.TempDir(), "again.csv")
	if err := os.WriteFile(path, []byte("email,name\njane@example.com,Jane\nbob@example.com,Bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("subscribers", "import", path, "--confirmed"); !strings.HasPrefix(out,
		"added 1, updated 0, skipped 1:\n  line 2: jane@example.com: erased\n") {
		t.Errorf("import of an erased address said:\n%s", out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"subscribers", "export", "jane@example.com"}, "jane@example.com was erased: nothing is held"},
		{[]string{"subscribers", "add", "jane@example.com", "--confirmed"}, "jane@example.com asked to be forgotten and was erased: not added"},
		{[]string{"subscribers", "export", "nobody@example.com", "--json"}, "no subscriber has the address nobody@example.com"},
		{[]string{"subscribers", "erase", "nobody@example.com"}, "no subscriber has the address nobody@example.com"},
		{[]string{"subscribers", "erase", "not an address"}, "not an address"},
	} {
		out, _, err := c.run(append(tt.args, "--config", c.config)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || out != "" {
			t.Errorf("practicemail %s: %v (printed %q); want an error saying %q", strings.Join(tt.args, " "), err, out, tt.want)
		}
	}
}

// Misused, export and erase fail before they open anything.
func TestSubscribersExportAndEraseMisuse(t *testing.T) {
	c := newCLI(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"subscribers", "export", "a@example.com", "b@example.com"}, `unexpected argument "b@example.com"`},
		{[]string{"subscribers", "export", "a@example.com", "--status", "active"}, "--status is for the export of everyone"},
		{[]string{"subscribers", "erase"}, "usage: practicemail subscribers erase EMAIL"},
		{[]string{"subscribers", "erase", "a@example.com", "b@example.com"}, "usage: practicemail subscribers erase EMAIL"},
	} {
		_, _, err := c.run(append(tt.args, "--config", c.config)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("practicemail %s: %v, want %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
	if _, err := os.Stat(c.dbPath); err == nil {
		t.Error("a refused command opened the database")
	}
}
