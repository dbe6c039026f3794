package store_test

import (
	"bytes"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// TestMessageNeverStoredAsText saves inquiries whose message and preferred
// time carry phrase, views, enrolls, stops and expires them, and after
// each step looks for the phrase in every byte the database keeps: the
// SQLite file with its WAL and shared memory, and on PostgreSQL every text
// and bytea column of every table, and pg_dump's output where it exists.
func TestMessageNeverStoredAsText(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			db := storetest.OpenAt(t, url)
			look := func(when string) {
				t.Helper()
				if engine == "sqlite" {
					sqliteHasNoPhrase(t, strings.TrimPrefix(url, "sqlite:"), when)
				} else {
					postgresHasNoPhrase(t, storetest.Raw(t, url), url, when)
				}
			}
			s := newSealer(t)
			a := saveInquiry(t, db, s, inquiry("rae@example.org"))
			look("after the first inquiry")
			saveInquiry(t, db, s, inquiry("rae@example.org"))
			saveInquiry(t, db, s, inquiry("sam@example.org"))
			look("after three inquiries")
			must(t, db.RecordView(ctx, a.InquiryID, "therapist"))
			enroll(t, db, a.ContactID, "inquiry")
			_, err := db.StopEnrollments(ctx, "rae@example.org", store.ContactBooked)
			must(t, err)
			look("after a view, an enrollment and a stop")
			_, err = db.DeleteExpiredMessages(ctx, db.Now().Add(1))
			must(t, err)
			look("after retention")
		})
	}
}

// sqliteHasNoPhrase reads the database file and its WAL and shared memory
// as bytes.
func sqliteHasNoPhrase(t *testing.T, path, when string) {
	t.Helper()
	read := 0
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		must(t, err)
		read += len(b)
		if bytes.Contains(b, []byte(phrase)) {
			t.Errorf("%s: %s contains the phrase", when, filepath.Base(p))
		}
	}
	if read == 0 {
		t.Fatalf("%s: read nothing of %s", when, path)
	}
	// The check can see what it looks for: the contact's name is text.
	b, err := os.ReadFile(path + "-wal")
	must(t, err)
	if !bytes.Contains(b, []byte("Rae Okafor")) {
		t.Fatalf("%s: the WAL does not hold the contact's name either: is this the right file?", when)
	}
}

// postgresHasNoPhrase searches every text and bytea column of every table
// of the test's schema, then pg_dump's dump of it if pg_dump is installed.
func postgresHasNoPhrase(t *testing.T, raw *sql.DB, url, when string) {
	t.Helper()
	rows, err := raw.QueryContext(ctx, `SELECT c.table_name, c.column_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.data_type IN ('text', 'bytea')`)
	must(t, err)
	var cols [][2]string
	for rows.Next() {
		var c [2]string
		must(t, rows.Scan(&c[0], &c[1]))
		cols = append(cols, c)
	}
	must(t, rows.Err())
	rows.Close()
	if len(cols) < 10 {
		t.Fatalf("%s: found only %d text and bytea columns", when, len(cols))
	}
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT COUNT(*) FROM %q WHERE position(convert_to($1, 'UTF8') IN %q::bytea) > 0`, c[0], c[1])
		must(t, raw.QueryRowContext(ctx, q, phrase).Scan(&n))
		if n > 0 {
			t.Errorf("%s: %s.%s holds the phrase in %d rows", when, c[0], c[1], n)
		}
	}
	pgDumpHasNoPhrase(t, raw, url, when)
}

func pgDumpHasNoPhrase(t *testing.T, raw *sql.DB, url, when string) {
	t.Helper()
	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Logf("pg_dump is not installed: the columns were searched, the dump is not")
		return
	}
	var schema string
	must(t, raw.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema))
	base, _, _ := strings.Cut(url, "?")
	out, err := exec.CommandContext(ctx, "pg_dump", "--no-owner", "--schema="+schema, base).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Logf("pg_dump could not run (%v: %s): the columns were searched, the dump is not", err, stderr)
		return
	}
	// pg_dump writes bytea as hex.
	for _, form := range []string{phrase, hex.EncodeToString([]byte(phrase))} {
		if bytes.Contains(out, []byte(form)) {
			t.Errorf("%s: pg_dump's output contains the phrase (as %.12s…)", when, form)
		}
	}
	if !bytes.Contains(out, []byte("Rae Okafor")) {
		t.Fatalf("%s: pg_dump's output (%d bytes) does not hold the contact's name either", when, len(out))
	}
}
