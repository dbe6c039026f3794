// Package store keeps practicemail's state in SQL: feeds, posts, subscribers and
// the deliveries ledger. SQLite is the default engine; PostgreSQL is used when the
// database URL says postgres://. The two differ only in the places marked in
// dialect.go and in their migrations.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// ErrNotFound is returned when a row asked for by key does not exist.
var ErrNotFound = errors.New("not found")

// DB is a handle on the practicemail database.
type DB struct {
	db      *sql.DB
	dialect dialect

	// writeMu serialises this process's writes on SQLite, which allows one
	// writer at a time: waiting here is cheap, while SQLite's own busy handler
	// sleeps for up to 100 ms between tries. Other processes still meet the
	// busy timeout. Unused on PostgreSQL.
	writeMu sync.Mutex

	prepMu   sync.Mutex
	record   *sql.Stmt            // see recordStmt
	prepared map[string]*sql.Stmt // see Tx.prepared
	journal  *journalConn         // the recorder's SQLite connection; see appendRecords

	recording recording   // the recorder; see RecordAsync
	signups   signupGroup // see RequestSignup
	closeOnce sync.Once

	// RecordGroup is how many outcomes the recorder gathers before it
	// commits without being asked; see RecordAsync and SetSenders. [4]
	// The recorder reads it under recording.mu: once outcomes may be in
	// flight, change it only through SetSenders.
	RecordGroup int

	// Now returns the current time; tests may replace it.
	Now func() time.Time

	// SuppressionKey is the key of the hashes erasure keeps (secrets.link_key;
	// see EmailHash), set by whoever opens the database for writing people:
	// AddSubscribers refuses an erased address by it. Without it,
	// AddSubscribers fails once any address has been erased, rather than
	// let an erased person back in unnoticed.
	SuppressionKey []byte
}

// Open connects to the database named by url: "sqlite:PATH", "file:PATH", a bare
// path, or "postgres://…". It does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	d, dsn, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	sqldb, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	d.configure(sqldb)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d.name, err)
	}
	return &DB{db: sqldb, dialect: d, Now: time.Now, RecordGroup: 4}, nil
}

// SetSenders tunes the recorder for n senders that may each have one
// outcome waiting to be written at once (the worker's in-flight messages).
//
// A commit of all n outcomes would make every connection wait for the
// same commit, so that they move in step: the server gets all their
// messages at once and serves them one after another while this process
// idles, then this process gets all the replies at once. Committing when
// half of them are in keeps two groups of connections out of step. With 4
// connections at 100,000 subscribers, groups of 2 sent 4,754 msg/s on
// average over four runs and groups of 4 4,464, at the same CPU per
// message (runs interleaved; groups of 1 cost a sixth more CPU and sent
// 4,337).
//
// It may be called while the recorder runs (a second Worker on the same
// database, as tests make for a scheduler of their own).
func (db *DB) SetSenders(n int) {
	db.recording.mu.Lock()
	db.RecordGroup = max(1, n/2)
	db.recording.mu.Unlock()
}

// closeWait is how long Close waits for the outcomes handed to the
// recorder to be written.
const closeWait = 30 * time.Second

// Close closes the database, waiting up to closeWait for the outcomes
// handed to the recorder; see CloseContext.
func (db *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	return db.CloseContext(ctx)
}

// CloseContext closes the database once the outcomes handed to the
// recorder are written, or when ctx is done, whichever is first. Then
// the error says how many outcomes may not have been written.
func (db *DB) CloseContext(ctx context.Context) error {
	var err error
	db.closeOnce.Do(func() {
		err = db.stopRecording(ctx)
		db.prepMu.Lock()
		if db.record != nil {
			db.record.Close()
		}
		for _, st := range db.prepared {
			st.Close()
		}
		db.prepMu.Unlock()
	})
	return errors.Join(err, db.db.Close())
}

// closeJournal closes the recorder's own connection, if it has one.
func (db *DB) closeJournal() {
	if db.journal != nil {
		db.journal.close()
		db.journal = nil
	}
}

// Engine names the SQL engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.dialect.name }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

func (db *DB) nowMS() int64 { return db.Now().UnixMilli() }

// q rewrites a query written with ? placeholders for the engine.
func (db *DB) q(query string) string { return db.dialect.rebind(query) }

func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer db.lockWrites()()
	return db.db.ExecContext(ctx, db.q(query), args...)
}

// lockWrites takes the SQLite write lock and returns its release.
func (db *DB) lockWrites() func() {
	if db.dialect.name != "sqlite" {
		return func() {}
	}
	db.writeMu.Lock()
	return db.writeMu.Unlock
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.db.QueryRowContext(ctx, db.q(query), args...)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.db.QueryContext(ctx, db.q(query), args...)
}

// tx runs fn in a transaction, committing if fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(*Tx) error) error {
	defer db.lockWrites()()
	sqltx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer sqltx.Rollback()
	if err := fn(&Tx{tx: sqltx, db: db}); err != nil {
		return err
	}
	if err := sqltx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Tx is a transaction with the engine's placeholder style: a *sql.Tx, or
// on SQLite a transaction the recorder began by hand on its own
// connection, which other writes may ride (see DB.ride).
type Tx struct {
	tx   *sql.Tx
	conn *journalConn // instead of tx: the recorder's connection, inside its transaction
	db   *DB
}

// runner is what t's statements run on.
func (t *Tx) runner() interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
} {
	if t.conn != nil {
		return t.conn.conn
	}
	return t.tx
}

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.runner().ExecContext(ctx, t.db.q(query), args...)
}

func (t *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.runner().QueryRowContext(ctx, t.db.q(query), args...)
}

func (t *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.runner().QueryContext(ctx, t.db.q(query), args...)
}

// prepared returns query, prepared once per database connection and kept
// until Close, as a statement of t. The public form's path runs the same
// few statements on every request: parsing them each time was a third of
// a sign-up's CPU time on SQLite.
func (t *Tx) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	db := t.db
	if t.conn != nil {
		return t.conn.prepared(ctx, db.q(query))
	}
	db.prepMu.Lock()
	st := db.prepared[query]
	if st == nil {
		var err error
		if st, err = db.db.PrepareContext(ctx, db.q(query)); err != nil {
			db.prepMu.Unlock()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		if db.prepared == nil {
			db.prepared = map[string]*sql.Stmt{}
		}
		db.prepared[query] = st
	}
	db.prepMu.Unlock()
	return t.tx.StmtContext(ctx, st), nil
}

// execPrepared is exec with a kept statement (see prepared).
func (t *Tx) execPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// scanPrepared reads one row into dest with a kept statement (see
// prepared); sql.ErrNoRows when there is none.
func (t *Tx) scanPrepared(ctx context.Context, query string, args []any, dest ...any) error {
	st, err := t.prepared(ctx, query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

// ms converts a time to unix milliseconds, with the zero time as NULL.
func ms(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromMS converts unix milliseconds (NULL as zero) back to a time.
func fromMS(n sql.NullInt64) time.Time {
	if !n.Valid || n.Int64 == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// placeholders returns "?, ?, ?" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
