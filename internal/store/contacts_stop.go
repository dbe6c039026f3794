package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// StopContact stops every active enrollment of contact id for reason (one
// of StopReasons) and records the reason as their status unless they are
// held back more already, like StopEnrollments, but by id: the
// List-Unsubscribe link of a sequence email (links.StopSequence) carries
// the contact id, not the address. It returns how many enrollments it
// stopped; ErrNotFound for no such contact. Calling it again changes
// nothing more.
func (db *DB) StopContact(ctx context.Context, contactID int64, reason string) (int, error) {
	if !contains(StopReasons, reason) {
		return 0, unknown("stop reason", reason, StopReasons)
	}
	var n int64
	err := db.tx(ctx, func(tx *Tx) error {
		var status string
		err := tx.queryRow(ctx, `SELECT status FROM contacts WHERE id = ?`, contactID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		now := db.nowMS()
		if stopRank[reason] >= stopRank[status] {
			if _, err := tx.exec(ctx, `UPDATE contacts SET status = ?, updated_at = ? WHERE id = ?`, reason, now, contactID); err != nil {
				return err
			}
		}
		n, err = tx.stopEnrollments(ctx, contactID, reason, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("stop contact %d: %w", contactID, err)
	}
	return int(n), nil
}
