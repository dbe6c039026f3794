package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
)

// journalConn is the recorder's own SQLite connection, with its statements
// prepared once. A group of outcomes is normally written by one INSERT of
// all of them, in autocommit: about 24 µs an outcome in BenchmarkRecord on
// this machine, against 30 µs with BEGIN IMMEDIATE, one INSERT per outcome
// and COMMIT, most of which was the statements' own overhead, not the
// writing. Only the recorder's goroutine uses it, under the write lock.
type journalConn struct {
	conn *sql.Conn
	// group[n] appends n outcomes in one statement, prepared on first use.
	group                            map[int]*sql.Stmt
	begin, appendOne, commit, rollbk *sql.Stmt
	// stmts are the statements of writes riding the recorder's
	// transactions (see DB.ride), by query, prepared on first use.
	stmts map[string]*sql.Stmt
}

// maxGroupInsert is the most outcomes one INSERT writes (9 parameters
// each); appendRecords writes a larger group a chunk at a time.
const maxGroupInsert = 16

func openJournalConn(ctx context.Context, db *sql.DB) (*journalConn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// A write riding the recorder's transaction has a savepoint, and
	// SQLite copies each page it changes to the savepoint's journal, in a
	// temporary file once that passes 64 KiB: a write system call per
	// page, which was a third of a sign-up's CPU in groups of them. In
	// memory it is a copy. What this connection writes is small: the
	// outcomes of one group and the sign-ups riding with them.
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("journal connection: %w", err)
	}
	j := &journalConn{conn: conn, group: map[int]*sql.Stmt{}, stmts: map[string]*sql.Stmt{}}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{{&j.begin, "BEGIN IMMEDIATE"}, {&j.appendOne, recordAppend}, {&j.commit, "COMMIT"}, {&j.rollbk, "ROLLBACK"}} {
		if *p.st, err = conn.PrepareContext(ctx, p.sql); err != nil {
			j.close()
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
	}
	return j, nil
}

func (j *journalConn) close() {
	for _, st := range j.group {
		st.Close()
	}
	for _, st := range j.stmts {
		st.Close()
	}
	for _, st := range []*sql.Stmt{j.begin, j.appendOne, j.commit, j.rollbk} {
		if st != nil {
			st.Close()
		}
	}
	// The connection goes back to the pool, for queries whose sorts may
	// be large: they spill to disk again. If this fails, the connection
	// is no use to anyone.
	if _, err := j.conn.ExecContext(context.Background(), "PRAGMA temp_store = DEFAULT"); err != nil {
		j.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	j.conn.Close()
}

// prepared is query (already rebound) prepared on j's connection, once.
func (j *journalConn) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := j.stmts[query]; st != nil {
		return st, nil
	}
	st, err := j.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	j.stmts[query] = st
	return st, nil
}

// recordAppendGroup appends several outcomes in one statement. The
// delivery_id of an outcome whose row is not queued, or whose batch's
// lease its sender no longer holds, comes out NULL, which the NOT NULL
// column refuses: the statement then writes nothing at all.
const recordAppendGroup = `INSERT INTO outcomes (delivery_id, state, reply, message_id, at, next_attempt_at, bounce, unanswered)
	SELECT (SELECT d.id FROM deliveries d JOIN batch_leases l
			ON l.kind = d.kind AND l.source_id = d.source_id AND l.batch = d.batch
		WHERE d.id = v.column1 AND d.state = 'queued' AND l.owner = v.column2),
		v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, v.column9
	FROM (VALUES %s) AS v`

// appendOutcomes writes chunk (at most maxGroupInsert outcomes) to the
// journal and reports, per outcome, whether its lease held. It tries one
// all-or-nothing INSERT of them all; if that fails, because some
// outcome's lease no longer holds or for any other reason, nothing was
// written, and appendEach writes them one at a time, which tells the held
// from the lost and reports a real error.
//
// In a transaction other writes ride (inTx), the chunk's fallback is
// undone on its own, in a savepoint, when it fails.
func (j *journalConn) appendOutcomes(ctx context.Context, chunk []*Recording, now int64, inTx bool) ([]bool, error) {
	st, err := j.groupStmt(ctx, len(chunk))
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, 9*len(chunk))
	for _, r := range chunk {
		o := r.o
		args = append(args, o.ID, r.owner, o.State, o.Reply, o.MessageID, now, o.Next.UnixMilli(), bounceFlag(o), flag(o.Unanswered))
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return j.appendEach(ctx, chunk, now, inTx)
	}
	n, err := res.RowsAffected()
	if err == nil && n != int64(len(chunk)) {
		err = fmt.Errorf("journal took %d of %d outcomes", n, len(chunk))
	}
	if err != nil {
		return nil, fmt.Errorf("record deliveries: %w", err)
	}
	held := make([]bool, len(chunk))
	for i := range held {
		held[i] = true
	}
	return held, nil
}

// groupStmt is recordAppendGroup for n outcomes, prepared on first use.
func (j *journalConn) groupStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if st := j.group[n]; st != nil {
		return st, nil
	}
	rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ")
	st, err := j.conn.PrepareContext(ctx, fmt.Sprintf(recordAppendGroup, rows))
	if err != nil {
		return nil, fmt.Errorf("prepare group append: %w", err)
	}
	j.group[n] = st
	return st, nil
}

// appendEach writes chunk one outcome at a time in one transaction (none
// for a single outcome), or in a savepoint of the transaction under way
// (inTx), and reports, per outcome, whether its lease held.
func (j *journalConn) appendEach(ctx context.Context, chunk []*Recording, now int64, inTx bool) ([]bool, error) {
	held := make([]bool, len(chunk))
	if len(chunk) == 1 {
		ok, err := j.appendTo(ctx, chunk[0], now)
		held[0] = ok
		return held, err
	}
	begin, commit, rollback := execStep(j.begin), execStep(j.commit), execStep(j.rollbk)
	if inTx {
		begin, commit, rollback = j.savepoint, j.release, j.rollbackTo
	}
	if err := begin(ctx); err != nil {
		return held, fmt.Errorf("begin: %w", err)
	}
	for i, r := range chunk {
		ok, err := j.appendTo(ctx, r, now)
		if err != nil {
			rerr := rollback(ctx)
			return make([]bool, len(chunk)), errors.Join(fmt.Errorf("record delivery %d: %w", r.o.ID, err), rerr)
		}
		held[i] = ok
	}
	if err := commit(ctx); err != nil {
		rerr := rollback(ctx)
		return make([]bool, len(chunk)), errors.Join(fmt.Errorf("commit: %w", err), rerr)
	}
	return held, nil
}

// execStep is st as a step of a transaction: begin, commit or roll back.
func execStep(st *sql.Stmt) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := st.ExecContext(ctx)
		return err
	}
}

// savepoint, release and rollbackTo open, keep and undo a savepoint of the
// transaction under way on j: undoing it also ends it, so that one
// savepoint name serves every level.
func (j *journalConn) savepoint(ctx context.Context) error {
	return j.execOnce(ctx, "SAVEPOINT ride")
}

func (j *journalConn) release(ctx context.Context) error {
	return j.execOnce(ctx, "RELEASE SAVEPOINT ride")
}

func (j *journalConn) rollbackTo(ctx context.Context) error {
	if err := j.execOnce(ctx, "ROLLBACK TO SAVEPOINT ride"); err != nil {
		return err
	}
	return j.release(ctx)
}

// execOnce runs query, prepared on j once.
func (j *journalConn) execOnce(ctx context.Context, query string) error {
	st, err := j.prepared(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx)
	return err
}

func (j *journalConn) appendTo(ctx context.Context, r *Recording, now int64) (bool, error) {
	o := r.o
	res, err := j.appendOne.ExecContext(ctx, o.State, o.Reply, o.MessageID, now, o.Next.UnixMilli(), bounceFlag(o), flag(o.Unanswered), o.ID, r.owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// bounceFlag is the journal's bounce column: 0 none, 1 a permanent
// failure the spine counts (BounceLimit), 2 one whose reply says the
// address is gone (see addressGone), which suppresses at once.
func bounceFlag(o Outcome) int {
	if !o.Bounce {
		return 0
	}
	if addressGone(o.Reply) {
		return 2
	}
	return 1
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
