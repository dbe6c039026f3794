package store

import (
	"context"
	"errors"
	"fmt"
)

// Webhook event sources, the keys RecordWebhookEvent deduplicates by.
const (
	WebhookBooking  = "booking"  // key: hex SHA-256 of the raw body
	WebhookCalendly = "calendly" // key: payload.uri
	WebhookCalcom   = "calcom"   // key: payload.uid (and the trigger, if one uid carries several events)
)

// RecordWebhookEvent records the event key of source and reports whether
// it is new: false means the same delivery came before and must change
// nothing (Calendly retries for a day). Act on the event first, then
// record it: what it does (StopEnrollments) may safely happen twice, but a
// delivery recorded and then not acted on, the process killed between
// the two, would be lost, its retry answered as seen.
func (db *DB) RecordWebhookEvent(ctx context.Context, source, key string) (bool, error) {
	return db.recordEvent(ctx, source, key, false)
}

func (db *DB) recordEvent(ctx context.Context, source, key string, booked bool) (bool, error) {
	if source == "" || key == "" {
		return false, errors.New("record webhook event: empty source or key")
	}
	res, err := db.exec(ctx, `INSERT INTO webhook_events (source, event_key, received_at, booked) VALUES (?, ?, ?, ?)
		ON CONFLICT (source, event_key) DO NOTHING`, source, key, db.nowMS(), boolInt(booked))
	if err != nil {
		return false, fmt.Errorf("record webhook event: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record webhook event: %w", err)
	}
	return n == 1, nil
}

// WebhookEventSeen reports whether RecordWebhookEvent recorded the key of
// source already: a handler asks first, so a delivery replayed long after
// (Cal.com signs no time) changes nothing, not even a later enrollment.
func (db *DB) WebhookEventSeen(ctx context.Context, source, key string) (bool, error) {
	var seen bool
	err := db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_events WHERE source = ? AND event_key = ?)`,
		source, key).Scan(&seen)
	if err != nil {
		return false, fmt.Errorf("webhook event seen: %w", err)
	}
	return seen, nil
}
