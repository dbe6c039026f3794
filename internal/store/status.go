package store

import (
	"context"
	"fmt"
)

// Counts is the whole database summarised for `status`.
type Counts struct {
	Subscribers map[string]int64 `json:"subscribers"` // by status
	Posts       map[string]int64 `json:"posts"`       // by state
	Deliveries  map[string]int64 `json:"deliveries"`  // by state
}

// Counts summarises subscribers, posts and deliveries by state.
func (db *DB) Counts(ctx context.Context) (*Counts, error) {
	c := &Counts{}
	if err := db.foldOutcomes(ctx); err != nil {
		return nil, err
	}
	var err error
	if c.Subscribers, err = db.countBy(ctx, "subscribers", "status"); err != nil {
		return nil, err
	}
	if c.Posts, err = db.countBy(ctx, "posts", "state"); err != nil {
		return nil, err
	}
	if c.Deliveries, err = db.countBy(ctx, "deliveries", "state"); err != nil {
		return nil, err
	}
	return c, nil
}

// countBy counts rows of table grouped by col; both are constants of this package.
func (db *DB) countBy(ctx context.Context, table, col string) (map[string]int64, error) {
	rows, err := db.query(ctx, `SELECT `+col+`, COUNT(*) FROM `+table+` GROUP BY `+col)
	if err != nil {
		return nil, fmt.Errorf("count %s: %w", table, err)
	}
	defer rows.Close()
	out := make(map[string]int64)
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}
