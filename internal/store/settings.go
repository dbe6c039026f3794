package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// InstanceID returns this database's random ID, made on first use. Message-IDs
// carry it, so that a database started afresh never reuses one: mail clients
// drop a message whose Message-ID they have already seen.
func (db *DB) InstanceID(ctx context.Context) (string, error) {
	b := make([]byte, 5)
	rand.Read(b)
	if _, err := db.exec(ctx, `INSERT INTO settings (key, value) VALUES ('instance_id', ?)
		ON CONFLICT (key) DO NOTHING`, hex.EncodeToString(b)); err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	var id string
	if err := db.queryRow(ctx, `SELECT value FROM settings WHERE key = 'instance_id'`).Scan(&id); err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	return id, nil
}
