package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the numbered migrations of one engine, in order.
func loadMigrations(engine string) ([]migration, error) {
	dir := "migrations/" + engine
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		b, err := migrations.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", m.name, i+1)
		}
	}
	return out, nil
}

// Migrate applies every migration not yet applied, each in its own transaction,
// and returns how many it applied. A database newer than this binary is refused.
// Processes that start together may all migrate at once: each transaction
// takes the migration lock (SQLite's write lock, taken at BEGIN; a
// PostgreSQL advisory lock) and checks again whether its migration is
// still to do, so each is applied once and no process fails.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	ms, err := loadMigrations(db.dialect.name)
	if err != nil {
		return 0, err
	}
	err = db.tx(ctx, func(tx *Tx) error {
		if err := db.lockMigrations(ctx, tx); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := db.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	if current > len(ms) {
		return 0, fmt.Errorf("database schema is version %d but this practicemail knows only %d: upgrade practicemail", current, len(ms))
	}
	applied := 0
	for _, m := range ms[current:] {
		done := false
		err := db.tx(ctx, func(tx *Tx) error {
			if err := db.lockMigrations(ctx, tx); err != nil {
				return err
			}
			var v int
			if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			if done = v >= m.version; done {
				return nil // another process applied it meanwhile
			}
			if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, db.nowMS())
			return err
		})
		if err != nil {
			return applied, err
		}
		if !done {
			applied++
		}
	}
	return applied, nil
}

// lockMigrations holds the migration lock until tx ends. On SQLite the
// transaction's BEGIN IMMEDIATE has taken the write lock already; on
// PostgreSQL an advisory lock is named after the schema migrated, so that
// databases in other schemas of the server are not held up.
func (db *DB) lockMigrations(ctx context.Context, tx *Tx) error {
	if db.dialect.name != "postgres" {
		return nil
	}
	if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('practicemail migrations ' || current_schema()))`); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	return nil
}

// SchemaVersion returns the highest applied migration, 0 for an empty database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// CheckSchema reports an error unless every migration has been applied.
func (db *DB) CheckSchema(ctx context.Context) error {
	ms, err := loadMigrations(db.dialect.name)
	if err != nil {
		return err
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("%w (run `practicemail migrate`)", err)
	}
	if v != len(ms) {
		return fmt.Errorf("database schema is version %d, want %d: run `practicemail migrate`", v, len(ms))
	}
	return nil
}
