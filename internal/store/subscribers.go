package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"
)

// Subscriber statuses.
const (
	StatusPending      = "pending"
	StatusActive       = "active"
	StatusUnsubscribed = "unsubscribed"
	StatusBounced      = "bounced"
	StatusComplained   = "complained"
)

// Topics a subscriber can follow.
const (
	TopicPosts = "posts"
	TopicNews  = "news"
)

// Subscriber is a person on the practice's list.
type Subscriber struct {
	ID            int64
	Email         string // normalised
	Name          string
	Status        string
	Topics        []string
	TimeZone      string
	ConsentSource string
	ConsentAt     time.Time
	CreatedAt     time.Time
}

// ErrInvalidEmail is wrapped by NormalizeEmail's errors.
var ErrInvalidEmail = errors.New("invalid email address")

// NormalizeEmail returns the bare address in s, lower-cased, or an error saying
// what is wrong with it. RFC 5321 lets a server treat the local part's case as
// significant, but no mailbox provider does, and two rows for one person would
// mean two emails.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidEmail)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrInvalidEmail, s)
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", fmt.Errorf("%w: %q", ErrInvalidEmail, s)
	}
	return strings.ToLower(local + "@" + domain), nil
}

// NewSubscriber is what AddSubscriber needs.
type NewSubscriber struct {
	Email, Name   string
	Topics        []string
	Confirmed     bool // active at once (consent recorded elsewhere), else pending
	TimeZone      string
	ConsentSource string    // e.g. "cli", "import:list.csv", "form"
	ConsentAt     time.Time // when the person gave consent; zero: now
	// Suppressed, when set, is unsubscribed, bounced or complained: what the
	// source (an export from another tool) says became of the person. They
	// are recorded so, whatever Confirmed says, and never mailed.
	Suppressed   string
	SuppressedAt time.Time // when; zero: now
}

// AddResult says what AddSubscriber did.
type AddResult struct {
	ID      int64
	Created bool
	Status  string // the status after the call
}

// AddSubscriber adds a person or updates their name and topics. It never
// reactivates someone who unsubscribed, bounced or complained: that takes their
// own new consent, not an import. A suppression the caller brings (an
// unsubscribe in another tool's export) applies to an existing person too.
func (db *DB) AddSubscriber(ctx context.Context, n NewSubscriber) (AddResult, error) {
	res, err := db.AddSubscribers(ctx, []NewSubscriber{n})
	if err != nil {
		return AddResult{}, err
	}
	return res[0], nil
}

// AddSubscribers is AddSubscriber for many people in one transaction: an
// import of thousands commits once per batch, not once per person.
func (db *DB) AddSubscribers(ctx context.Context, ns []NewSubscriber) ([]AddResult, error) {
	ns = append([]NewSubscriber(nil), ns...)
	for i := range ns {
		if err := ns[i].check(); err != nil {
			return nil, err
		}
	}
	out := make([]AddResult, len(ns))
	err := db.tx(ctx, func(tx *Tx) error {
		w, err := tx.prepareSubscriberWrites(ctx)
		if err != nil {
			return err
		}
		defer w.close()
		if err := tx.checkErasureKey(ctx, db.SuppressionKey); err != nil {
			return err
		}
		now := db.nowMS()
		for i, n := range ns {
			if erased, err := w.erased(ctx, n.Email, db.SuppressionKey); err != nil || erased {
				out[i] = AddResult{Status: StatusErased}
				if err != nil {
					return err
				}
				continue
			}
			r, err := w.add(ctx, n, now)
			if err != nil {
				return err
			}
			out[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add subscriber: %w", err)
	}
	return out, nil
}

// check normalises n and refuses what must never be stored. It is the last
// guard behind every input: a name with a CR/LF or a bidi override is
// cleaned here whichever door it came in by.
func (n *NewSubscriber) check() error {
	e, err := NormalizeEmail(n.Email)
	if err != nil {
		return err
	}
	n.Email = e
	if len(n.Topics) == 0 {
		n.Topics = []string{TopicPosts}
	}
	if err := CheckTopics(n.Topics); err != nil {
		return fmt.Errorf("%s: %w", e, err)
	}
	if n.Suppressed != "" && !Suppressed(n.Suppressed) {
		return fmt.Errorf("%s: %q is not a suppression (want unsubscribed, bounced or complained)", e, n.Suppressed)
	}
	n.Name, n.ConsentSource, n.TimeZone = CleanName(n.Name), CleanName(n.ConsentSource), CleanName(n.TimeZone)
	return nil
}

// subscriberUpsert adds a person or updates them. A suppressed person stays
// so, a suppression brought in applies, and the consent record is replaced
// only when pending becomes active: the consent that confirmed them.
const subscriberUpsert = `INSERT INTO subscribers (email, name, status, time_zone, consent_source, consent_at,
		confirmed_at, unsubscribed_at, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (email) DO UPDATE SET
		name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE subscribers.name END,
		status = CASE
			WHEN subscribers.status IN ('unsubscribed', 'bounced', 'complained') THEN subscribers.status
			WHEN excluded.status IN ('unsubscribed', 'bounced', 'complained') THEN excluded.status
			WHEN subscribers.status = 'pending' AND excluded.status = 'active' THEN 'active'
			ELSE subscribers.status END,
		unsubscribed_at = CASE
			WHEN subscribers.status NOT IN ('unsubscribed', 'bounced', 'complained') AND excluded.status = 'unsubscribed'
			THEN excluded.unsubscribed_at ELSE subscribers.unsubscribed_at END,
		consent_source = CASE WHEN subscribers.status = 'pending' AND excluded.status = 'active'
			THEN excluded.consent_source ELSE subscribers.consent_source END,
		consent_at = CASE WHEN subscribers.status = 'pending' AND excluded.status = 'active'
			THEN excluded.consent_at ELSE subscribers.consent_at END,
		confirmed_at = CASE WHEN subscribers.status = 'pending' AND excluded.status = 'active'
			THEN excluded.confirmed_at ELSE subscribers.confirmed_at END,
		updated_at = excluded.updated_at
	RETURNING id, status`

// subscriberWrites are AddSubscribers' statements, prepared once per
// transaction: compiling the upsert for each row took most of an import's
// CPU.
type subscriberWrites struct {
	exists, upsert, topic, suppressed *sql.Stmt
}

func (tx *Tx) prepareSubscriberWrites(ctx context.Context) (*subscriberWrites, error) {
	w := &subscriberWrites{}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&w.exists, `SELECT 1 FROM subscribers WHERE email = ?`},
		{&w.upsert, subscriberUpsert},
		{&w.topic, `INSERT INTO subscriber_topics (topic, subscriber_id) VALUES (?, ?) ON CONFLICT DO NOTHING`},
		{&w.suppressed, `SELECT COUNT(*) FROM suppressions WHERE email_hash = ? AND reason = 'erased'`},
	} {
		st, err := tx.tx.PrepareContext(ctx, tx.db.q(p.sql))
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*p.st = st
	}
	return w, nil
}

func (w *subscriberWrites) close() {
	for _, st := range []*sql.Stmt{w.exists, w.upsert, w.topic, w.suppressed} {
		if st != nil {
			st.Close()
		}
	}
}

// erased reports whether email's person was erased: only their new
// confirmation (ConfirmSubscriber) lets them back in, never an import or
// the command line. Without a key nothing has been erased (see
// checkErasureKey).
func (w *subscriberWrites) erased(ctx context.Context, email string, key []byte) (bool, error) {
	if len(key) == 0 {
		return false, nil
	}
	var n int
	if err := w.suppressed.QueryRowContext(ctx, EmailHash(email, key)).Scan(&n); err != nil {
		return false, fmt.Errorf("check erasure: %w", err)
	}
	return n > 0, nil
}

// checkErasureKey fails when the store cannot tell an erased address (no
// SuppressionKey) and some address has been erased.
func (tx *Tx) checkErasureKey(ctx context.Context, key []byte) error {
	if len(key) > 0 {
		return nil
	}
	var n int
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM suppressions WHERE reason = 'erased'`).Scan(&n); err != nil {
		return fmt.Errorf("check erasure: %w", err)
	}
	if n > 0 {
		return errors.New("addresses have been erased and the store has no SuppressionKey to recognise them by")
	}
	return nil
}

func (w *subscriberWrites) add(ctx context.Context, n NewSubscriber, now int64) (AddResult, error) {
	status := StatusPending
	switch {
	case n.Suppressed != "":
		status = n.Suppressed
	case n.Confirmed:
		status = StatusActive
	}
	consentAt, unsubAt := msOr(n.ConsentAt, now), sql.NullInt64{}
	if status == StatusUnsubscribed {
		unsubAt = sql.NullInt64{Int64: msOr(n.SuppressedAt, now), Valid: true}
	}
	var res AddResult
	var one int
	err := w.exists.QueryRowContext(ctx, n.Email).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return res, err
	}
	res.Created = errors.Is(err, sql.ErrNoRows)
	err = w.upsert.QueryRowContext(ctx, n.Email, n.Name, status, n.TimeZone, n.ConsentSource, consentAt,
		confirmedAt(status == StatusActive, now), unsubAt, now, now).Scan(&res.ID, &res.Status)
	if err != nil {
		return res, err
	}
	for _, t := range n.Topics {
		if _, err := w.topic.ExecContext(ctx, t, res.ID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// msOr returns t in Unix milliseconds, or def when t is zero.
func msOr(t time.Time, def int64) int64 {
	if t.IsZero() {
		return def
	}
	return t.UnixMilli()
}

func confirmedAt(confirmed bool, now int64) sql.NullInt64 {
	return sql.NullInt64{Int64: now, Valid: confirmed}
}

// SetSubscriberStatus changes a subscriber's status.
func (db *DB) SetSubscriberStatus(ctx context.Context, id int64, status string) error {
	now := db.nowMS()
	_, err := db.exec(ctx, `UPDATE subscribers SET status = ?, updated_at = ?,
		unsubscribed_at = CASE WHEN ? = 'unsubscribed' THEN ? ELSE unsubscribed_at END WHERE id = ?`,
		status, now, status, now, id)
	if err != nil {
		return fmt.Errorf("set subscriber %d %s: %w", id, status, err)
	}
	return nil
}

// SubscriberByEmail returns the subscriber with that address, or ErrNotFound.
func (db *DB) SubscriberByEmail(ctx context.Context, email string) (*Subscriber, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	subs, err := db.subscribers(ctx, `WHERE s.email = ?`, e)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, fmt.Errorf("subscriber %s: %w", e, ErrNotFound)
	}
	return &subs[0], nil
}

// ListSubscribers lists subscribers in ID order after afterID, up to limit
// (0: no limit), optionally only those with a status. An unknown status is an
// error, not an empty list. Erased rows are left out: nobody is left in them.
func (db *DB) ListSubscribers(ctx context.Context, status string, afterID int64, limit int) ([]Subscriber, error) {
	if err := CheckStatus(status); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1 << 30
	}
	return db.subscribers(ctx, `WHERE (? = '' OR s.status = ?) AND s.id > ? AND s.erased_at IS NULL ORDER BY s.id LIMIT ?`,
		status, status, afterID, limit)
}

func (db *DB) subscribers(ctx context.Context, where string, args ...any) ([]Subscriber, error) {
	if _, err := db.ledger(ctx); err != nil { // folds journalled bounces
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	rows, err := db.query(ctx, `SELECT s.id, s.email, s.name, s.status, s.time_zone, s.consent_source,
		s.consent_at, s.created_at, COALESCE((SELECT `+db.dialect.groupConcat("t.topic")+`
			FROM subscriber_topics t WHERE t.subscriber_id = s.id), '')
		FROM subscribers s `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	defer rows.Close()
	var out []Subscriber
	for rows.Next() {
		var s Subscriber
		var consent, created sql.NullInt64
		var topics string
		if err := rows.Scan(&s.ID, &s.Email, &s.Name, &s.Status, &s.TimeZone, &s.ConsentSource,
			&consent, &created, &topics); err != nil {
			return nil, fmt.Errorf("scan subscriber: %w", err)
		}
		s.ConsentAt, s.CreatedAt = fromMS(consent), fromMS(created)
		if topics != "" {
			s.Topics = strings.Split(topics, ",")
			sort.Strings(s.Topics)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Eligible returns, of the given subscribers, those who may still be sent
// mail of topic now — active and still following it — with their names.
func (db *DB) Eligible(ctx context.Context, topic string, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		in, args := db.dialect.idIn(ids[:n])
		rows, err := db.query(ctx, `SELECT s.id, s.name FROM subscribers s JOIN subscriber_topics t
			ON t.subscriber_id = s.id AND t.topic = ? WHERE s.status = 'active' AND s.id `+in,
			append([]any{topic}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("check eligibility: %w", err)
		}
		if err := scanEligible(rows, out); err != nil {
			return nil, fmt.Errorf("check eligibility: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// scanEligible adds rows' subscribers to out. A read that fails part-way
// is an error, never a shorter list: whoever is missing from it would be
// suppressed.
func scanEligible(rows *sql.Rows, out map[int64]string) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		out[id] = CleanName(name) // rows stored before names were cleaned
	}
	return rows.Err()
}
