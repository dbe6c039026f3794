package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SuppressReasonErased is the reason of a suppressions row left by an
// erasure: the keyed hash of an address whose person asked to be forgotten.
const SuppressReasonErased = "erased"

// StatusErased is no row's status: it is the AddResult.Status of an address
// refused because its person was erased, and the status Counts gives erased
// rows (whose stored status is unsubscribed).
const StatusErased = "erased"

// erasedPrefix starts an erased subscriber's email ("erased:<id>") and an
// erased person's ledger recipients ("erased:<hash>"): never an address.
const erasedPrefix = "erased:"

// erasedReply replaces an SMTP reply or bounce reason that named an erased
// address.
const erasedReply = "(removed: it named an erased address)"

// EmailHash is the keyed hash kept of an erased address: hex HMAC-SHA256
// with key (secrets.link_key), so that a leaked database does not give the
// address back by a dictionary of addresses. The address is normalised
// first (NormalizeEmail); one that does not parse is hashed trimmed and
// lower-cased, so that every door hashes an address alike.
func EmailHash(email string, key []byte) string {
	e, err := NormalizeEmail(email)
	if err != nil {
		e = strings.ToLower(strings.TrimSpace(email))
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(e))
	return hex.EncodeToString(m.Sum(nil))
}

// EraseSubscriber erases the subscriber with that address (see
// EraseSubscriberID); ErrNotFound if there is none.
func (db *DB) EraseSubscriber(ctx context.Context, email string, key []byte) error {
	e, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	var id int64
	err = db.queryRow(ctx, `SELECT id FROM subscribers WHERE email = ? AND erased_at IS NULL`, e).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("erase subscriber: %w", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("erase subscriber: %w", err)
	}
	return db.EraseSubscriberID(ctx, id, key)
}

// EraseSubscriberID forgets a person, in one transaction: only the keyed
// hash of their address is kept, in suppressions (reason erased), so they
// are never mailed again until they confirm a new subscription. Their row
// stays, so that its id is never given to someone else, but anonymised:
// email "erased:<id>", name, time zone and consent cleared, status
// unsubscribed, erased_at set, topics deleted. Every ledger row of theirs
// keeps its subscriber_id and gets the recipient "erased:<hash>"; an SMTP
// reply or bounce reason that names the address is replaced; their signups
// lose the page and IP. ErrNotFound for an unknown or already erased id.
// key must be the link key the rest of the program hashes with.
func (db *DB) EraseSubscriberID(ctx context.Context, id int64, key []byte) error {
	if len(key) == 0 {
		return errors.New("erase subscriber: no key to hash the address with")
	}
	err := db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ledger(ctx); err != nil { // folds: journalled replies are rewritten too
			return err
		}
		var email string
		err := tx.queryRow(ctx, `SELECT email FROM subscribers WHERE id = ? AND erased_at IS NULL`, id).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return tx.erase(ctx, id, email, EmailHash(email, key))
	})
	if err != nil {
		return fmt.Errorf("erase subscriber %d: %w", id, err)
	}
	return nil
}

// erase does EraseSubscriberID's writes.
func (tx *Tx) erase(ctx context.Context, id int64, email, hash string) error {
	now := tx.db.nowMS()
	like := "%" + likeEscape(email) + "%"
	recipient := erasedPrefix + hash
	for _, s := range []struct {
		what, sql string
		args      []any
	}{
		{"suppress", `INSERT INTO suppressions (email_hash, reason, created_at) VALUES (?, ?, ?)
			ON CONFLICT (email_hash) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at`,
			[]any{hash, SuppressReasonErased, now}},
		{"anonymise", `UPDATE subscribers SET email = ?, name = '', time_zone = '', consent_source = '',
			consent_page = '', consent_ip = '', consent_at = NULL, confirmed_at = NULL, status = 'unsubscribed',
			unsubscribed_at = COALESCE(unsubscribed_at, ?), erased_at = ?, updated_at = ? WHERE id = ?`,
			[]any{fmt.Sprintf("%s%d", erasedPrefix, id), now, now, now, id}},
		{"topics", `DELETE FROM subscriber_topics WHERE subscriber_id = ?`, []any{id}},
		{"replies", `UPDATE deliveries SET last_reply = ? WHERE (subscriber_id = ? OR recipient = ?)
			AND lower(last_reply) LIKE ? ESCAPE '\'`, []any{erasedReply, id, email, like}},
		// One row per (kind, source, recipient): a row that would collide
		// with one already erased (the same person erased twice) gets its
		// own id appended.
		{"ledger", `UPDATE deliveries SET recipient = ? WHERE (subscriber_id = ? OR recipient = ?)
			AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.kind = deliveries.kind
				AND x.source_id = deliveries.source_id AND x.recipient = ?)`, []any{recipient, id, email, recipient}},
		{"ledger", `UPDATE deliveries SET recipient = ? || CAST(id AS TEXT)
			WHERE (subscriber_id = ? OR recipient = ?) AND recipient <> ?`, []any{recipient + ":", id, email, recipient}},
		{"signups", `UPDATE signups SET page_url = '', ip = '' WHERE subscriber_id = ?`, []any{id}},
		{"bounces", `UPDATE bounces SET reason = ? WHERE subscriber_id = ? AND lower(reason) LIKE ? ESCAPE '\'`,
			[]any{erasedReply, id, like}},
	} {
		if _, err := tx.exec(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

// likeEscape escapes LIKE's wildcards (and the escape itself) in s.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// IsErased reports whether email's keyed hash is in suppressions as erased.
func (db *DB) IsErased(ctx context.Context, email string, key []byte) (bool, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM suppressions WHERE email_hash = ? AND reason = ?`,
		EmailHash(email, key), SuppressReasonErased).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("is erased: %w", err)
	}
	return n > 0, nil
}

// forgetErasure removes the erased hash of subscriber id's address from
// suppressions: they have just confirmed a new subscription, the one way
// back in. Without a SuppressionKey there is no hash to find (and
// AddSubscribers refuses to run once any was kept).
func (tx *Tx) forgetErasure(ctx context.Context, id int64) error {
	key := tx.db.SuppressionKey
	if len(key) == 0 {
		return nil
	}
	var email string
	if err := tx.queryRow(ctx, `SELECT email FROM subscribers WHERE id = ?`, id).Scan(&email); err != nil {
		return fmt.Errorf("forget erasure: %w", err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM suppressions WHERE email_hash = ? AND reason = ?`,
		EmailHash(email, key), SuppressReasonErased); err != nil {
		return fmt.Errorf("forget erasure: %w", err)
	}
	return nil
}
