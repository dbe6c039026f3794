package store

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// dialect holds everything that differs between SQLite and PostgreSQL.
type dialect struct {
	name   string // "sqlite" or "postgres"
	driver string // database/sql driver name
}

var (
	sqliteDialect   = dialect{name: "sqlite", driver: "sqlite"}
	postgresDialect = dialect{name: "postgres", driver: "pgx"}
)

// parseURL turns a database URL into a dialect and a driver DSN.
func parseURL(u string) (dialect, string, error) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return postgresDialect, u, nil
	case strings.HasPrefix(u, "sqlite:"), strings.HasPrefix(u, "file:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "file:")
		path = strings.TrimPrefix(path, "//")
		return sqliteURL(path)
	case u != "" && !strings.Contains(u, "://"):
		return sqliteURL(u)
	}
	return dialect{}, "", fmt.Errorf("database url %q: want sqlite:PATH or postgres://…", u)
}

// sqliteURL splits "PATH[?synchronous=full|normal][&mode=ro]" into the
// SQLite dialect and its DSN: synchronous is the one setting a configuration
// may choose (see sqliteDSN), and mode=ro opens the file read-only, as by a
// reader who may not write.
func sqliteURL(u string) (dialect, string, error) {
	path, query, _ := strings.Cut(u, "?")
	sync, readOnly := "FULL", false
	if query != "" {
		v, err := url.ParseQuery(query)
		if err != nil {
			return dialect{}, "", fmt.Errorf("database url %q: %w", u, err)
		}
		for k := range v {
			if k != "synchronous" && k != "mode" {
				return dialect{}, "", fmt.Errorf("database url %q: unknown setting %q (the one SQLite setting is synchronous=full|normal)", u, k)
			}
		}
		switch s := strings.ToUpper(v.Get("synchronous")); s {
		case "":
		case "FULL", "NORMAL":
			sync = s
		default:
			return dialect{}, "", fmt.Errorf("database url %q: synchronous=%q: choose full or normal", u, v.Get("synchronous"))
		}
		switch m := v.Get("mode"); m {
		case "", "rw":
		case "ro":
			readOnly = true
		default:
			return dialect{}, "", fmt.Errorf("database url %q: mode=%q: only mode=ro is understood", u, m)
		}
	}
	return sqliteDialect, sqliteDSN(path, sync, readOnly), ensureDir(path)
}

// sqliteDSN asks modernc.org/sqlite for WAL, foreign keys, a busy timeout, and
// write-intent transactions, so two writers queue instead of failing to upgrade.
// The busy timeout comes first: switching a new file to WAL takes a lock, and
// a process starting beside one that migrates must wait for it, not fail.
//
// synchronous is FULL by default: in WAL mode that syncs the log at every
// commit, so a recorded outcome survives a power loss and its message is not
// sent again. NORMAL syncs only at checkpoints: a power loss (not a crash of
// the process) can undo the last commits, and so resend their messages.
// readOnly opens the database read-only, as by a reader who may not write.
func sqliteDSN(path, synchronous string, readOnly bool) string {
	v := url.Values{}
	if readOnly {
		v.Set("mode", "ro")
	}
	for _, p := range []string{"busy_timeout(15000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(" + synchronous + ")"} {
		v.Add("_pragma", p)
	}
	v.Set("_txlock", "immediate")
	return "file:" + path + "?" + v.Encode()
}

// bare is a SQLite path without its options.
func bare(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return p
}

func ensureDir(path string) error {
	dir := filepath.Dir(path)
	if dir == "." || dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create database directory: %w", err)
	}
	return nil
}

func (d dialect) configure(db *sql.DB) {
	if d.name == "sqlite" {
		// One writer at a time is SQLite's rule; a few connections let reads overlap.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		return
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
}

// rebind rewrites ? placeholders as $1, $2, … for PostgreSQL. Queries in this
// package never contain a literal question mark.
func (d dialect) rebind(q string) string {
	if d.name != "postgres" || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// groupConcat aggregates a text column into one comma-separated string.
func (d dialect) groupConcat(col string) string {
	if d.name == "postgres" {
		return "string_agg(" + col + ", ',')"
	}
	return "group_concat(" + col + ", ',')"
}

// idIn is a condition on a column being one of ids, and its arguments:
// "IN (?, ?, …)" on SQLite; on PostgreSQL "= ANY(?)" with the IDs as one
// array, so that every list is the same statement, prepared once per
// connection and planned as index lookups, where a list of n placeholders
// was a new statement for each n, parsed and planned anew each time (and a
// hash join over the whole joined table when the list was long).
func (d dialect) idIn(ids []int64) (string, []any) {
	if d.name == "postgres" {
		return "= ANY(?::bigint[])", []any{ids}
	}
	list, args := inList(ids)
	return "IN " + list, args
}
