package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

var eraseKey = []byte("a link key of sixteen bytes or more")

// eachURL is storetest.Each with the database's URL, for a test that also
// looks at the tables with database/sql alone.
func eachURL(t *testing.T, fn func(t *testing.T, db *store.DB, raw *sql.DB)) {
	t.Helper()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			db := storetest.OpenAt(t, url)
			fn(t, db, storetest.Raw(t, url))
		})
	}
}

// Erasure leaves nothing of the address anywhere in the database but its
// keyed hash; the person is unmailable, refused by import, and out of
// every list; someone else's data is untouched.
func TestEraseLeavesOnlyAHash(t *testing.T) {
	eachURL(t, func(t *testing.T, db *store.DB, raw *sql.DB) {
		db.SuppressionKey = eraseKey
		const alice = "alice.o_neil@example.com"
		add := func(email, name string) int64 {
			r, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: email, Name: name, Topics: []string{"posts", "news"},
				Confirmed: true, TimeZone: "Europe/Paris", ConsentSource: "form"})
			must(t, err)
			return r.ID
		}
		aliceID, bobID := add("Alice.O_Neil@Example.com", "Alice O'Neil"), add("bob@example.com", "Bob")
		_, err := raw.Exec(rebind(raw, `UPDATE subscribers SET consent_page = ?, consent_ip = ? WHERE id = ?`),
			"https://therapist.example/blog?from="+alice, "192.0.2.7", aliceID)
		must(t, err)
		_, err = raw.Exec(rebind(raw, `INSERT INTO signups (subscriber_id, kind, source, page_url, ip, created_at) VALUES (?, 'confirm', 'form', ?, ?, 1)`),
			aliceID, "https://therapist.example/join", "192.0.2.7")
		must(t, err)
		// Post 1 failed with a reply naming her (journalled on SQLite), post 2 is still queued.
		sendFailed(t, db, 1, "554 5.7.1 <%s>: Message refused as spam")
		queued, err := db.FanOut(ctx, store.KindPost, 2, "posts", 10)
		must(t, err)
		_, err = db.RecordBounce(ctx, store.Bounce{Email: alice, Type: store.BounceSoft, Status: "4.2.2",
			Reason: "mailbox of " + alice + " is full", Source: "dsn"})
		must(t, err)

		must(t, db.EraseSubscriber(ctx, " "+strings.ToUpper(alice), eraseKey))

		if where := findText(t, raw, alice); len(where) > 0 {
			t.Fatalf("after erasure the address is still in %v", where)
		}
		for _, e := range []string{alice, "bob@example.com"} {
			erased, err := db.IsErased(ctx, e, eraseKey)
			must(t, err)
			if erased != (e == alice) {
				t.Errorf("IsErased(%s) = %v", e, erased)
			}
		}
		var reason string
		must(t, raw.QueryRow(rebind(raw, `SELECT reason FROM suppressions WHERE email_hash = ?`), store.EmailHash(alice, eraseKey)).Scan(&reason))
		if reason != "erased" {
			t.Errorf("suppression reason %q", reason)
		}
		// Her queued row cannot be sent: the worker's check finds nobody.
		el, err := db.Eligible(ctx, "posts", []int64{aliceID, bobID})
		must(t, err)
		if _, ok := el[aliceID]; ok || len(el) != 1 {
			t.Errorf("eligible after erasure: %v", el)
		}
		rows, err := db.Claim(ctx, queued.Batch, "w", time.Now().Add(time.Minute))
		must(t, err)
		for _, r := range rows {
			if r.SubscriberID == aliceID && r.Recipient != "erased:"+store.EmailHash(alice, eraseKey) {
				t.Errorf("her ledger row's recipient is %q", r.Recipient)
			}
		}
		checkErasedOutOfLists(t, db, alice)
		if err := db.EraseSubscriberID(ctx, aliceID, eraseKey); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("erasing twice: %v, want ErrNotFound", err)
		}
		bob, err := db.ExportPerson(ctx, "bob@example.com")
		must(t, err)
		if bob.Name != "Bob" || bob.TimeZone != "Europe/Paris" || len(bob.Topics) != 2 || len(bob.Deliveries) != 2 ||
			len(bob.Bounces) != 1 || bob.Bounces[0].Source != "smtp" || !strings.Contains(bob.Bounces[0].Reason, "BOB@EXAMPLE.COM") {
			t.Errorf("bob's data changed: %+v", bob)
		}
	})
}

// checkErasedOutOfLists: import refuses the erased address (and says so),
// lists and exports leave the row out, counts call it erased.
func checkErasedOutOfLists(t *testing.T, db *store.DB, email string) {
	t.Helper()
	res, err := db.AddSubscribers(ctx, []store.NewSubscriber{{Email: email, Confirmed: true}, {Email: "carol@example.com"}})
	must(t, err)
	if res[0].Status != store.StatusErased || res[0].ID != 0 || res[1].Status != store.StatusPending {
		t.Errorf("import after erasure: %+v", res)
	}
	db.SuppressionKey = nil
	if _, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: "dan@example.com"}); err == nil {
		t.Error("an import without the key went ahead although addresses are erased")
	}
	db.SuppressionKey = eraseKey
	list, err := db.ListSubscribers(ctx, "", 0, 0)
	must(t, err)
	var emails []string
	for _, s := range list {
		emails = append(emails, s.Email)
	}
	if d := cmp.Diff([]string{"bob@example.com", "carol@example.com"}, emails); d != "" {
		t.Errorf("list after erasure (-want +got):\n%s", d)
	}
	c, err := db.Counts(ctx)
	must(t, err)
	if d := cmp.Diff(map[string]int64{"active": 1, "pending": 1, "erased": 1}, c.Subscribers); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	if _, err := db.ExportPerson(ctx, email); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("export of the erased: %v, want ErrNotFound", err)
	}
	n := 0
	must(t, db.ExportPeople(ctx, func(*store.Person) error { n++; return nil }))
	if n != 2 {
		t.Errorf("ExportPeople gave %d people, want 2", n)
	}
}

// sendFailed fans post src out to posts followers and records each row as
// a permanent SMTP failure with reply, which names the recipient (%s) in
// capitals as some servers do.
func sendFailed(t *testing.T, db *store.DB, src int64, reply string) {
	t.Helper()
	page, err := db.FanOut(ctx, store.KindPost, src, "posts", 10)
	must(t, err)
	rows, err := db.Claim(ctx, page.Batch, "w", time.Now().Add(time.Minute))
	must(t, err)
	for _, r := range rows {
		_, err := db.Record(ctx, "w", store.Outcome{ID: r.ID, State: store.DeliveryFailed,
			Reply: fmt.Sprintf(reply, strings.ToUpper(r.Recipient)), Bounce: true})
		must(t, err)
	}
	_, err = db.ReleaseLease(ctx, page.Batch, "w", time.Now())
	must(t, err)
}

// findText returns "table.column" for every column of every table with a
// value containing s, case-insensitively.
func findText(t *testing.T, raw *sql.DB, s string) []string {
	t.Helper()
	q := `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`
	if isPostgres(raw) {
		q = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`
	}
	rows, err := raw.Query(q)
	must(t, err)
	var cols [][2]string
	for rows.Next() {
		var c [2]string
		must(t, rows.Scan(&c[0], &c[1]))
		cols = append(cols, c)
	}
	must(t, rows.Err())
	rows.Close()
	if len(cols) < 40 {
		t.Fatalf("found only %d columns to scan", len(cols))
	}
	var found []string
	for _, c := range cols {
		var n int
		must(t, raw.QueryRow(rebind(raw, fmt.Sprintf(`SELECT COUNT(*) FROM %q WHERE lower(CAST(%q AS TEXT)) LIKE ?`, c[0], c[1])),
			"%"+strings.ToLower(s)+"%").Scan(&n))
		if n > 0 {
			found = append(found, c[0]+"."+c[1])
		}
	}
	return found
}

func isPostgres(raw *sql.DB) bool {
	var v string
	return raw.QueryRow(`SELECT version()`).Scan(&v) == nil && strings.Contains(v, "PostgreSQL")
}

// rebind turns ? into $n on PostgreSQL.
func rebind(raw *sql.DB, q string) string {
	if !isPostgres(raw) {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// An erased person comes back only through their own new confirmation:
// the sign-up form lets them ask (pending), an import still refuses them
// until they confirm, and confirming removes the hash.
func TestErasedComesBackOnlyByConfirmation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		db.SuppressionKey = eraseKey
		const alice = "alice@example.com"
		r, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: alice, Confirmed: true})
		must(t, err)
		must(t, db.EraseSubscriberID(ctx, r.ID, eraseKey))
		s, err := db.RequestSignup(ctx, store.SignupRequest{Email: alice, Source: "form"})
		must(t, err)
		if s.Outcome != store.SignupConfirm {
			t.Fatalf("sign-up after erasure: %+v", s)
		}
		back, err := db.SubscriberByEmail(ctx, alice)
		must(t, err)
		if back.ID == r.ID || back.Status != store.StatusPending {
			t.Fatalf("after asking again: %+v (erased id %d)", back, r.ID)
		}
		res, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: alice, Confirmed: true})
		must(t, err)
		if res.Status != store.StatusErased {
			t.Fatalf("import before her confirmation: %+v", res)
		}
		got, err := db.ConfirmSubscriber(ctx, back.ID)
		must(t, err)
		erased, err := db.IsErased(ctx, alice, eraseKey)
		must(t, err)
		if got != store.Confirmed || erased {
			t.Fatalf("confirm = %s, still erased = %v", got, erased)
		}
		res, err = db.AddSubscriber(ctx, store.NewSubscriber{Email: alice, Name: "Alice"})
		must(t, err)
		if res.Status != store.StatusActive || res.ID != back.ID {
			t.Fatalf("import after her confirmation: %+v", res)
		}
	})
}

// A person erased twice (back by a new confirmation in between) with a
// ledger row of the same post each time: the second erasure's row cannot
// take the first's recipient (one row per kind, source and recipient), and
// gets its own id appended instead.
func TestEraseTwiceKeepsLedgerRowsApart(t *testing.T) {
	eachURL(t, func(t *testing.T, db *store.DB, raw *sql.DB) {
		db.SuppressionKey = eraseKey
		const alice = "alice@example.com"
		ledgerRow := func(id int64) {
			_, err := raw.Exec(rebind(raw, `INSERT INTO deliveries (kind, source_id, recipient, subscriber_id, state, created_at)
				VALUES ('post', 1, ?, ?, 'sent', 1)`), alice, id)
			must(t, err)
		}
		first, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: alice, Confirmed: true})
		must(t, err)
		ledgerRow(first.ID)
		must(t, db.EraseSubscriber(ctx, alice, eraseKey))
		s, err := db.RequestSignup(ctx, store.SignupRequest{Email: alice, Source: "form"})
		must(t, err)
		back, err := db.SubscriberByEmail(ctx, alice)
		must(t, err)
		if _, err := db.ConfirmSubscriber(ctx, back.ID); err != nil || s.Outcome != store.SignupConfirm {
			t.Fatalf("back: %+v %v", s, err)
		}
		ledgerRow(back.ID)
		must(t, db.EraseSubscriber(ctx, alice, eraseKey))
		rows, err := raw.Query(`SELECT id, recipient FROM deliveries WHERE kind = 'post' ORDER BY id`)
		must(t, err)
		var got []string
		var last int64
		for rows.Next() {
			var r string
			must(t, rows.Scan(&last, &r))
			got = append(got, r)
		}
		must(t, rows.Err())
		rows.Close()
		h := "erased:" + store.EmailHash(alice, eraseKey)
		if d := cmp.Diff([]string{h, fmt.Sprintf("%s:%d", h, last)}, got); d != "" {
			t.Errorf("ledger recipients (-want +got):\n%s", d)
		}
		if where := findText(t, raw, alice); len(where) > 0 {
			t.Errorf("after the second erasure the address is still in %v", where)
		}
	})
}
