package storetest

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// Engine names the engine of a URL from URL: "sqlite" or "postgres".
func Engine(url string) string {
	if strings.HasPrefix(url, "sqlite:") {
		return "sqlite"
	}
	return "postgres"
}

// Raw opens the database at url (from URL) with database/sql alone, for a
// test that must do what the store never does: break a table, say.
func Raw(t testing.TB, url string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", url
	if Engine(url) == "sqlite" {
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(url, "sqlite:")+"?_pragma=busy_timeout(15000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// FailTopicReadsAt makes every read of subscriber_topics fail with an SQL
// error when it reaches subscriberID's rows, and only then: the rows before
// it come back first. It is a real failure of a real read, mid-way, on
// either engine (a view over the table that raises an error at that row),
// not a fake driver. The returned restore puts the table back.
func FailTopicReadsAt(t testing.TB, url string, subscriberID int64) (restore func()) {
	t.Helper()
	db := Raw(t, url)
	// In SQLite the abs() of the smallest integer is an error; the column
	// keeps the expression from being evaluated once, up front.
	raise := "abs(subscriber_id - subscriber_id - 9223372036854775807 - 1) = 1"
	stmts := []string{`ALTER TABLE subscriber_topics RENAME TO subscriber_topics_kept`}
	if Engine(url) == "postgres" {
		stmts = append(stmts, `CREATE FUNCTION storetest_fail_read() RETURNS boolean LANGUAGE plpgsql AS
			$$ BEGIN RAISE EXCEPTION 'storetest: injected read failure'; END $$`)
		raise = "storetest_fail_read()"
	}
	stmts = append(stmts, fmt.Sprintf(`CREATE VIEW subscriber_topics AS SELECT topic, subscriber_id
		FROM subscriber_topics_kept WHERE CASE WHEN subscriber_id = %d THEN %s ELSE true END`, subscriberID, raise))
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("break subscriber_topics: %s: %v", s, err)
		}
	}
	return func() {
		t.Helper()
		for _, s := range []string{`DROP VIEW subscriber_topics`, `ALTER TABLE subscriber_topics_kept RENAME TO subscriber_topics`} {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("restore subscriber_topics: %s: %v", s, err)
			}
		}
	}
}
