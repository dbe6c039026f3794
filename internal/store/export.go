package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Person is everything the store holds about one person: what `subscribers
// export` gives them when they ask (GDPR article 15), field by field.
type Person struct {
	ID             int64            `json:"id"`
	Email          string           `json:"email"`
	Name           string           `json:"name"`
	Status         string           `json:"status"`
	Topics         []string         `json:"topics"`
	TimeZone       string           `json:"time_zone"`
	ConsentSource  string           `json:"consent_source"`
	ConsentPage    string           `json:"consent_page"`
	ConsentIP      string           `json:"consent_ip"`
	ConsentAt      time.Time        `json:"consent_at,omitzero"`
	ConfirmedAt    time.Time        `json:"confirmed_at,omitzero"`
	UnsubscribedAt time.Time        `json:"unsubscribed_at,omitzero"`
	ErasedAt       time.Time        `json:"erased_at,omitzero"`
	BounceCount    int              `json:"bounce_count"`
	WeeklyDigest   bool             `json:"weekly_digest"` // posts of digest feeds weekly, not one by one
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	Signups        []SignupRecord   `json:"signups"`
	Bounces        []BounceRecord   `json:"bounces"`
	Deliveries     []DeliveryRecord `json:"deliveries"`
}

// SignupRecord is one request from the public form.
type SignupRecord struct {
	ID      int64     `json:"id"`
	Kind    string    `json:"kind"`
	Source  string    `json:"source"`
	PageURL string    `json:"page_url"`
	IP      string    `json:"ip"`
	At      time.Time `json:"at"`
}

// BounceRecord is one stored bounce or complaint.
type BounceRecord struct {
	ID         int64     `json:"id"`
	DeliveryID int64     `json:"delivery_id,omitempty"`
	Type       string    `json:"type"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason"`
	Source     string    `json:"source"`
	At         time.Time `json:"at"`
}

// DeliveryRecord is one ledger row: an email sent, or meant to be, to the person.
type DeliveryRecord struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	SourceID  int64     `json:"source_id"`
	Recipient string    `json:"recipient"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	LastReply string    `json:"last_reply"`
	MessageID string    `json:"message_id"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// exportPage is how many people ExportPeople reads at a time.
const exportPage = 500

// ExportPerson returns everything held about the person with that address;
// ErrNotFound if there is nobody (an erased person is nobody: nothing of
// theirs but a keyed hash is left).
func (db *DB) ExportPerson(ctx context.Context, email string) (*Person, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	people, err := db.exportPeople(ctx, `WHERE s.email = ? AND s.erased_at IS NULL`, e)
	if err != nil {
		return nil, err
	}
	if len(people) == 0 {
		return nil, fmt.Errorf("export %s: %w", e, ErrNotFound)
	}
	return &people[0], nil
}

// ExportPeople calls fn with everything held about each person, in ID
// order, erased rows left out; an error from fn stops it and is returned.
func (db *DB) ExportPeople(ctx context.Context, fn func(*Person) error) error {
	var after int64
	for {
		people, err := db.exportPeople(ctx, `WHERE s.id > ? AND s.erased_at IS NULL ORDER BY s.id LIMIT ?`, after, exportPage)
		if err != nil {
			return err
		}
		for i := range people {
			if err := fn(&people[i]); err != nil {
				return err
			}
		}
		if len(people) < exportPage {
			return nil
		}
		after = people[len(people)-1].ID
	}
}

// exportPeople reads the people where says, then their topics, signups,
// bounces and deliveries, a query each for the whole page.
func (db *DB) exportPeople(ctx context.Context, where string, args ...any) ([]Person, error) {
	l, err := db.ledger(ctx) // folds journalled bounces and outcomes
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	people, err := db.exportSubscribers(ctx, where, args...)
	if err != nil || len(people) == 0 {
		return people, err
	}
	byID := make(map[int64]*Person, len(people))
	ids := make([]int64, len(people))
	for i := range people {
		byID[people[i].ID], ids[i] = &people[i], people[i].ID
	}
	list, idArgs := inList(ids)
	for _, part := range []struct {
		what string
		read func() (*sql.Rows, error)
		scan func(*sql.Rows) error
	}{
		{"topics", func() (*sql.Rows, error) {
			return db.query(ctx, `SELECT subscriber_id, topic FROM subscriber_topics WHERE subscriber_id IN `+list+` ORDER BY topic`, idArgs...)
		}, func(r *sql.Rows) error { return scanTopic(r, byID) }},
		{"signups", func() (*sql.Rows, error) {
			return db.query(ctx, `SELECT subscriber_id, id, kind, source, page_url, ip, created_at FROM signups
				WHERE subscriber_id IN `+list+` ORDER BY id`, idArgs...)
		}, func(r *sql.Rows) error { return scanSignup(r, byID) }},
		{"bounces", func() (*sql.Rows, error) {
			return db.query(ctx, `SELECT subscriber_id, id, COALESCE(delivery_id, 0), type, status, reason, source, created_at
				FROM bounces WHERE subscriber_id IN `+list+` ORDER BY id`, idArgs...)
		}, func(r *sql.Rows) error { return scanBounce(r, byID) }},
		{"deliveries", func() (*sql.Rows, error) {
			return l.read(ctx, `SELECT d.subscriber_id, d.id, d.kind, d.source_id, d.recipient, d.state, d.attempts,
				d.last_reply, d.message_id, d.sent_at, d.created_at FROM {deliveries} d
				WHERE d.subscriber_id IN `+list+` ORDER BY d.id`, idArgs...)
		}, func(r *sql.Rows) error { return scanDelivery(r, byID) }},
	} {
		if err := eachRow(part.read, part.scan); err != nil {
			return nil, fmt.Errorf("export %s: %w", part.what, err)
		}
	}
	return people, nil
}

// eachRow runs read and scans each of its rows.
func eachRow(read func() (*sql.Rows, error), scan func(*sql.Rows) error) error {
	rows, err := read()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (db *DB) exportSubscribers(ctx context.Context, where string, args ...any) ([]Person, error) {
	var out []Person
	err := eachRow(func() (*sql.Rows, error) {
		return db.query(ctx, `SELECT s.id, s.email, s.name, s.status, s.time_zone, s.consent_source, s.consent_page,
			s.consent_ip, s.consent_at, s.confirmed_at, s.unsubscribed_at, s.erased_at, s.bounces, s.digest, s.created_at, s.updated_at
			FROM subscribers s `+where, args...)
	}, func(r *sql.Rows) error {
		var p Person
		var consent, confirmed, unsub, erased sql.NullInt64
		var created, updated, digest int64
		if err := r.Scan(&p.ID, &p.Email, &p.Name, &p.Status, &p.TimeZone, &p.ConsentSource, &p.ConsentPage,
			&p.ConsentIP, &consent, &confirmed, &unsub, &erased, &p.BounceCount, &digest, &created, &updated); err != nil {
			return err
		}
		p.WeeklyDigest = digest != 0
		p.ConsentAt, p.ConfirmedAt, p.UnsubscribedAt, p.ErasedAt = fromMS(consent), fromMS(confirmed), fromMS(unsub), fromMS(erased)
		p.CreatedAt, p.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		p.Topics, p.Signups, p.Bounces, p.Deliveries = []string{}, []SignupRecord{}, []BounceRecord{}, []DeliveryRecord{}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export subscribers: %w", err)
	}
	return out, nil
}

func scanTopic(r *sql.Rows, byID map[int64]*Person) error {
	var id int64
	var topic string
	if err := r.Scan(&id, &topic); err != nil {
		return err
	}
	p := byID[id]
	p.Topics = append(p.Topics, topic)
	return nil
}

func scanSignup(r *sql.Rows, byID map[int64]*Person) error {
	var id, at int64
	var s SignupRecord
	if err := r.Scan(&id, &s.ID, &s.Kind, &s.Source, &s.PageURL, &s.IP, &at); err != nil {
		return err
	}
	s.At = time.UnixMilli(at).UTC()
	p := byID[id]
	p.Signups = append(p.Signups, s)
	return nil
}

func scanBounce(r *sql.Rows, byID map[int64]*Person) error {
	var id, at int64
	var b BounceRecord
	if err := r.Scan(&id, &b.ID, &b.DeliveryID, &b.Type, &b.Status, &b.Reason, &b.Source, &at); err != nil {
		return err
	}
	b.At = time.UnixMilli(at).UTC()
	p := byID[id]
	p.Bounces = append(p.Bounces, b)
	return nil
}

func scanDelivery(r *sql.Rows, byID map[int64]*Person) error {
	var id, created int64
	var sent sql.NullInt64
	var d DeliveryRecord
	if err := r.Scan(&id, &d.ID, &d.Kind, &d.SourceID, &d.Recipient, &d.State, &d.Attempts,
		&d.LastReply, &d.MessageID, &sent, &created); err != nil {
		return err
	}
	d.SentAt, d.CreatedAt = fromMS(sent), time.UnixMilli(created).UTC()
	p := byID[id]
	p.Deliveries = append(p.Deliveries, d)
	return nil
}
