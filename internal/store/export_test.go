package store

import "context"

// Pragma reads a SQLite pragma's value on one of the pool's connections.
func (db *DB) Pragma(ctx context.Context, name string) (int, error) {
	var v int
	err := db.db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}
