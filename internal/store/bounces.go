package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounce types.
const (
	BounceHard      = "hard"      // the address is gone: suppressed at once
	BounceSoft      = "soft"      // it may pass (a full mailbox): suppressed after SoftBounceLimit
	BounceComplaint = "complaint" // the person marked the mail as spam: suppressed at once
)

// Soft bounces suppress an address once SoftBounceLimit of them fall within
// SoftBounceWindow: one full mailbox is a bad day, three in a month a
// mailbox nobody reads.
const (
	SoftBounceLimit  = 3
	SoftBounceWindow = 30 * 24 * time.Hour
)

// Bounce is a bounce or complaint, from whichever door: a report ("dsn",
// "arf"), the webhook ("webhook") or the SMTP session ("smtp").
type Bounce struct {
	Email      string // who bounced; matched when DeliveryID matches no row
	Type       string // BounceHard, BounceSoft or BounceComplaint
	Status     string // the enhanced status code, e.g. "5.1.1"
	Reason     string // the diagnostic, as the report gave it
	Source     string
	DeliveryID int64 // the ledger row it answers, when known; 0 if not
	// MessageID is the returned original's Message-ID, when a report
	// carries it: it finds the ledger row that recorded that Message-ID.
	MessageID string
	At        time.Time // when it was reported; zero: now
}

// BounceResult says what RecordBounce did.
type BounceResult struct {
	Matched      bool // a subscriber was found, and the bounce stored
	SubscriberID int64
	Suppressed   bool   // the subscriber is now bounced or complained
	Status       string // the subscriber's status after
	SoftCount    int    // soft bounces within SoftBounceWindow, this one included (soft only)
}

// maxReason is how much of a diagnostic is kept, in bytes.
const maxReason = 1000

// RecordBounce stores the bounce against its subscriber — the one its
// DeliveryID (or MessageID) was for, else the one with its address — and suppresses them
// at once for a hard bounce (status bounced) or a complaint (complained),
// or for a soft bounce that is the SoftBounceLimit-th within
// SoftBounceWindow. A complaint outranks a bounce; nothing else changes a
// suppressed status. A bounce matching nobody (or an erased person) is
// Matched false, and nothing is stored.
func (db *DB) RecordBounce(ctx context.Context, b Bounce) (BounceResult, error) {
	switch b.Type {
	case BounceHard, BounceSoft, BounceComplaint:
	default:
		return BounceResult{}, fmt.Errorf("record bounce: type %q: want hard, soft or complaint", b.Type)
	}
	b.Status, b.Reason, b.Source = CleanName(b.Status), truncate(CleanName(b.Reason), maxReason), CleanName(b.Source)
	var res BounceResult
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		res, err = tx.recordBounce(ctx, b)
		return err
	})
	if err != nil {
		return BounceResult{}, fmt.Errorf("record bounce: %w", err)
	}
	return res, nil
}

func (tx *Tx) recordBounce(ctx context.Context, b Bounce) (BounceResult, error) {
	var res BounceResult
	id, status, err := tx.bounced(ctx, b)
	if err != nil || id == 0 {
		return res, err
	}
	res.Matched, res.SubscriberID, res.Status = true, id, status
	now := tx.db.nowMS()
	var delivery sql.NullInt64
	if b.DeliveryID != 0 {
		delivery = sql.NullInt64{Int64: b.DeliveryID, Valid: true}
	}
	if _, err := tx.exec(ctx, `INSERT INTO bounces (subscriber_id, delivery_id, type, status, reason, source, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, delivery, b.Type, b.Status, b.Reason, b.Source, msOr(b.At, now)); err != nil {
		return res, err
	}
	to := ""
	switch b.Type {
	case BounceHard:
		to = StatusBounced
	case BounceComplaint:
		to = StatusComplained
	case BounceSoft:
		since := tx.db.Now().Add(-SoftBounceWindow).UnixMilli()
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM bounces WHERE subscriber_id = ? AND type = 'soft' AND created_at >= ?`,
			id, since).Scan(&res.SoftCount); err != nil {
			return res, err
		}
		if res.SoftCount >= SoftBounceLimit {
			to = StatusBounced
		}
	}
	if to != "" && (status != StatusComplained && status != to) {
		if _, err := tx.exec(ctx, `UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?`, to, now, id); err != nil {
			return res, err
		}
		res.Status = to
	}
	res.Suppressed = res.Status == StatusBounced || res.Status == StatusComplained
	return res, nil
}

// bounced finds the subscriber b is about, not erased: by its delivery
// first, then by address. id 0: nobody.
func (tx *Tx) bounced(ctx context.Context, b Bounce) (id int64, status string, err error) {
	if b.DeliveryID == 0 {
		b.DeliveryID = deliveryOf(b.MessageID)
	}
	if b.DeliveryID != 0 {
		l, err := tx.ledger(ctx)
		if err != nil {
			return 0, "", err
		}
		err = l.readRow(ctx, `SELECT s.id, s.status FROM {deliveries} d JOIN subscribers s ON s.id = d.subscriber_id
			WHERE d.id = ? AND (? = '' OR d.message_id = ?) AND s.erased_at IS NULL`,
			b.DeliveryID, b.MessageID, b.MessageID).Scan(&id, &status)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return id, status, err
		}
	}
	email, err := NormalizeEmail(b.Email)
	if err != nil {
		return 0, "", nil // not an address: it matches nobody
	}
	err = tx.queryRow(ctx, `SELECT id, status FROM subscribers WHERE email = ? AND erased_at IS NULL`, email).Scan(&id, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return id, status, err
}

// mailboxGone matches RFC 3463's permanent "addressing status" codes,
// 5.1.x: no such mailbox (5.1.1), no such domain (5.1.2), bad address
// syntax (5.1.3), moved (5.1.6), a domain that takes no mail (5.1.10).
var mailboxGone = regexp.MustCompile(`\b5\.1\.\d{1,3}\b`)

// addressGone reports whether an SMTP reply says the address itself does
// not exist: a hard bounce, suppressed at once whichever door it came by.
// Other permanent failures (a policy block, a message too large) refuse
// the message rather than the address, and the spine counts them instead.
func addressGone(reply string) bool { return mailboxGone.MatchString(reply) }

// deliveryOf is the ledger row a Message-ID names, if it has the worker's
// shape (<d123.post45.instance@domain>), else 0. It is only a guess at
// where to look: bounced then asks for the row that recorded exactly that
// Message-ID, so a Message-ID of another shape, or forged, finds nothing.
func deliveryOf(messageID string) int64 {
	local, _, ok := strings.Cut(strings.TrimPrefix(messageID, "<"), "@")
	digits, _, dot := strings.Cut(local, ".")
	if !ok || !dot || len(digits) < 2 || digits[0] != 'd' {
		return 0
	}
	id, err := strconv.ParseInt(digits[1:], 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// BounceLine is one stored bounce, for `status`.
type BounceLine struct {
	At     time.Time `json:"at"`
	Email  string    `json:"email"`
	Type   string    `json:"type"`
	Status string    `json:"status"`
	Reason string    `json:"reason"`
	Source string    `json:"source"`
}

// BounceSummary is what `status` shows of bounces: counts by type within
// SoftBounceWindow, and the latest few.
type BounceSummary struct {
	Recent map[string]int64 `json:"last_30_days"`
	Latest []BounceLine     `json:"latest"`
}

// Bounces summarises the bounces of the last SoftBounceWindow and lists
// the latest limit of them, newest first (none for a limit of 0).
func (db *DB) Bounces(ctx context.Context, limit int) (*BounceSummary, error) {
	if _, err := db.ledger(ctx); err != nil { // folds SMTP bounces still journalled
		return nil, fmt.Errorf("bounces: %w", err)
	}
	since := db.Now().Add(-SoftBounceWindow).UnixMilli()
	s := &BounceSummary{}
	var err error
	if s.Recent, err = countBy(db.query(ctx, `SELECT type, COUNT(*) FROM bounces WHERE created_at >= ? GROUP BY type`, since)); err != nil {
		return nil, fmt.Errorf("count bounces: %w", err)
	}
	if limit <= 0 {
		return s, nil
	}
	err = eachRow(func() (*sql.Rows, error) {
		return db.query(ctx, `SELECT b.created_at, COALESCE(s.email, ''), b.type, b.status, b.reason, b.source
			FROM bounces b LEFT JOIN subscribers s ON s.id = b.subscriber_id ORDER BY b.created_at DESC, b.id DESC LIMIT ?`, limit)
	}, func(r *sql.Rows) error {
		var l BounceLine
		var at int64
		if err := r.Scan(&at, &l.Email, &l.Type, &l.Status, &l.Reason, &l.Source); err != nil {
			return err
		}
		l.At = time.UnixMilli(at).UTC()
		s.Latest = append(s.Latest, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("latest bounces: %w", err)
	}
	return s, nil
}
