package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// journalConn is the recorder's own SQLite connection, with its statements
// prepared once: BEGIN IMMEDIATE, the append and COMMIT. Through
// database/sql's Tx, BEGIN and COMMIT were parsed again for every group
// commit, which cost about a tenth of writing an outcome. Only the
// recorder's goroutine uses it, under the write lock.
type journalConn struct {
	conn                             *sql.Conn
	begin, appendOne, commit, rollbk *sql.Stmt
}

func openJournalConn(ctx context.Context, db *sql.DB) (*journalConn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	j := &journalConn{conn: conn}
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
	for _, st := range []*sql.Stmt{j.begin, j.appendOne, j.commit, j.rollbk} {
		if st != nil {
			st.Close()
		}
	}
	j.conn.Close()
}

// appendOutcomes writes batch to the journal in one transaction (none for
// a single outcome) and reports, per outcome, whether its lease held.
func (j *journalConn) appendOutcomes(ctx context.Context, batch []*Recording, now int64) ([]bool, error) {
	held := make([]bool, len(batch))
	if len(batch) == 1 {
		ok, err := j.appendTo(ctx, batch[0], now)
		held[0] = ok
		return held, err
	}
	if _, err := j.begin.ExecContext(ctx); err != nil {
		return held, fmt.Errorf("begin: %w", err)
	}
	for i, r := range batch {
		ok, err := j.appendTo(ctx, r, now)
		if err != nil {
			_, rerr := j.rollbk.ExecContext(ctx)
			return make([]bool, len(batch)), errors.Join(fmt.Errorf("record delivery %d: %w", r.o.ID, err), rerr)
		}
		held[i] = ok
	}
	if _, err := j.commit.ExecContext(ctx); err != nil {
		_, rerr := j.rollbk.ExecContext(ctx)
		return make([]bool, len(batch)), errors.Join(fmt.Errorf("commit: %w", err), rerr)
	}
	return held, nil
}

func (j *journalConn) appendTo(ctx context.Context, r *Recording, now int64) (bool, error) {
	o := r.o
	bounce := 0
	if o.Bounce {
		bounce = 1
	}
	res, err := j.appendOne.ExecContext(ctx, o.State, o.Reply, o.MessageID, now, o.Next.UnixMilli(), bounce, o.ID, r.owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
