// Package storetest opens real, empty, migrated databases for tests: a SQLite
// file in a temporary directory, or a fresh schema in the test PostgreSQL
// server (PRACTICEMAIL_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
)

// Engines are the SQL engines every store test runs on.
var Engines = []string{"sqlite", "postgres"}

// PostgresURL is the server the tests use.
func PostgresURL() string {
	if u := os.Getenv("PRACTICEMAIL_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Each runs fn once per engine as a subtest, each with its own empty database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) { fn(t, Open(t, engine)) })
	}
}

// Open returns a migrated, empty database of the given engine, removed when
// the test ends. Without a reachable PostgreSQL it skips, or fails when CI=true.
func Open(t testing.TB, engine string) *store.DB {
	t.Helper()
	return OpenAt(t, URL(t, engine))
}

// OpenAt returns the database at url (from URL), migrated, closed when the
// test ends.
func OpenAt(t testing.TB, url string) *store.DB {
	t.Helper()
	engine := Engine(url)
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("open %s: %v", engine, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", engine, err)
	}
	return db
}

// URL returns the database URL of a fresh, unmigrated database of engine.
func URL(t testing.TB, engine string) string {
	t.Helper()
	if engine == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), "practicemail.db")
	}
	return postgresSchema(t)
}

// postgresSchema creates a schema of its own for the test and returns a URL
// whose search_path points at it.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	admin, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		Unavailable(t, "PostgreSQL at "+base, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "pmtest_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// Unavailable fails the test when CI=true and skips it otherwise: a service a
// test needs is not there.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not available (CI=true, so this fails instead of skipping): %v", what, err)
	}
	t.Skipf("%s is not available: %v (set CI=true to make this a failure)", what, err)
}
