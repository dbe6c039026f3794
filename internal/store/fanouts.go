package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Delivery kinds: what a ledger row's source_id points at.
const (
	KindPost = "post" // source: posts.id
)

// BatchRef names one batch of ledger rows: the unit a send task works on.
type BatchRef struct {
	Kind     string
	SourceID int64
	Batch    int64
}

// FanOutPage is what one step of a fan-out did.
type FanOutPage struct {
	Batch BatchRef // the batch written; Batch.Batch is 0 when none was
	Rows  int      // ledger rows written (rows already present are not counted)
	Done  bool     // the audience is exhausted
}

// FanOut writes the next page of up to size ledger rows for (kind, sourceID),
// one per active subscriber of topic (narrowed by fanOutFilter), in subscriber-ID order, and remembers
// where it stopped in the same transaction. Calling it again after a crash
// carries on; rows that already exist are left alone.
func (db *DB) FanOut(ctx context.Context, kind string, sourceID int64, topic string, size int) (FanOutPage, error) {
	var page FanOutPage
	err := db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO fanouts (kind, source_id) VALUES (?, ?)
			ON CONFLICT (kind, source_id) DO NOTHING`, kind, sourceID); err != nil {
			return err
		}
		var cursor, batches int64
		var done int
		if err := tx.queryRow(ctx, `SELECT cursor, batches, done FROM fanouts WHERE kind = ? AND source_id = ?`,
			kind, sourceID).Scan(&cursor, &batches, &done); err != nil {
			return err
		}
		if done != 0 {
			page.Done = true
			return nil
		}
		filter, err := tx.fanOutFilter(ctx, kind, sourceID)
		if err != nil {
			return err
		}
		var upper sql.NullInt64
		if err := tx.queryRow(ctx, `SELECT MAX(subscriber_id) FROM (
				SELECT t.subscriber_id FROM subscriber_topics t JOIN subscribers s ON s.id = t.subscriber_id
				WHERE t.topic = ? AND s.status = 'active' AND t.subscriber_id > ? AND s.id > ?`+filter+`
				ORDER BY t.subscriber_id LIMIT ?) page`, topic, cursor, cursor, size).Scan(&upper); err != nil {
			return err
		}
		if !upper.Valid {
			page.Done = true
			_, err := tx.exec(ctx, `UPDATE fanouts SET done = 1 WHERE kind = ? AND source_id = ?`, kind, sourceID)
			return err
		}
		batch := batches + 1
		res, err := tx.exec(ctx, `INSERT INTO deliveries (kind, source_id, recipient, subscriber_id, batch, state, created_at)
			SELECT ?, ?, s.email, s.id, ?, 'queued', ?
			FROM subscriber_topics t JOIN subscribers s ON s.id = t.subscriber_id
			WHERE t.topic = ? AND s.status = 'active' AND t.subscriber_id > ? AND t.subscriber_id <= ?
				AND s.id > ? AND s.id <= ?`+filter+`
			ON CONFLICT (kind, source_id, recipient) DO NOTHING`,
			kind, sourceID, batch, db.nowMS(), topic, cursor, upper.Int64, cursor, upper.Int64)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		page = FanOutPage{Batch: BatchRef{kind, sourceID, batch}, Rows: int(n)}
		_, err = tx.exec(ctx, `UPDATE fanouts SET cursor = ?, batches = ?, total = total + ?
			WHERE kind = ? AND source_id = ?`, upper.Int64, batch, n, kind, sourceID)
		return err
	})
	if err != nil {
		return FanOutPage{}, fmt.Errorf("fan out %s %d: %w", kind, sourceID, err)
	}
	return page, nil
}

// FanOutProgress reports how far the fan-out of (kind, sourceID) has come.
func (db *DB) FanOutProgress(ctx context.Context, kind string, sourceID int64) (rows int64, done bool, err error) {
	var d int
	err = db.queryRow(ctx, `SELECT total, done FROM fanouts WHERE kind = ? AND source_id = ?`, kind, sourceID).Scan(&rows, &d)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return rows, d != 0, err
}
