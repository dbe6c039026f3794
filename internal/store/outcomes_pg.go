package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// On PostgreSQL the recorder writes a group of outcomes as one pipeline of
// recordUpdate statements, one per outcome, sent together and answered
// together: one round trip and one commit for the group (the statements
// of one pipeline run in one implicit transaction), where BEGIN, an UPDATE
// per outcome and COMMIT took a round trip each, while every sender waited
// for the last of them before its next message could go. Each statement is
// the single-row UPDATE by primary key that PostgreSQL plans once per
// connection; one UPDATE … FROM unnest(…) of the whole group was planned
// anew at every execution (its generic plan never looked cheaper than the
// custom ones) and cost the server more CPU than the pipeline of UPDATEs.
// Only the rows whose batch's lease their sender still holds are written.
//
// An outcome that counts a bounce touches subscribers and bounces too; a
// group with one goes through the transaction of Tx.record.

// recordGroup writes batch, none of which counts a bounce, and reports per
// outcome whether its lease held. Nothing is written if it fails.
func (db *DB) recordGroup(ctx context.Context, batch []*Recording) ([]bool, error) {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("record deliveries: %w", err)
	}
	defer conn.Close()
	held := make([]bool, len(batch))
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("not a pgx connection")
		}
		var b pgx.Batch
		q, now := db.q(recordUpdate), db.nowMS()
		for _, r := range batch {
			b.Queue(q, recordArgs(r.owner, r.o, now)...)
		}
		res := sc.Conn().SendBatch(ctx, &b)
		for i := range batch {
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return err
			}
			held[i] = tag.RowsAffected() == 1
		}
		return res.Close() // the commit
	})
	if err != nil {
		return nil, fmt.Errorf("record deliveries: %w", err)
	}
	return held, nil
}

// anyBounce reports whether an outcome of batch counts a bounce.
func anyBounce(batch []*Recording) bool {
	for _, r := range batch {
		if r.o.Bounce {
			return true
		}
	}
	return false
}
