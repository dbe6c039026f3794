package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Ledger kinds of inquiry mail.
const (
	// KindStep is one step of a sequence to its contact; source:
	// enrollment_steps.id (see ScheduleStep).
	KindStep = "step"
	// KindInquiryNotify is the notification of an inquiry to the practice;
	// source: inquiries.id, recipient practice.notify_email.
	KindInquiryNotify = "inquiry"
)

// The sealed fields of an inquiry, as named in their associated data.
const (
	FieldMessage       = "message"
	FieldPreferredTime = "preferred_time"
)

// InquiryAD is the associated data a field of inquiry id is sealed with
// (internal/seal): "inquiry:<id>:<field>". Sealed bytes copied into another
// row, or into the other field, do not open. This function is its one
// definition: SaveInquiry seals with it, `inquiries show` opens with it.
func InquiryAD(id int64, field string) []byte {
	return []byte("inquiry:" + strconv.FormatInt(id, 10) + ":" + field)
}

// Sealer seals a private text for a record (internal/seal.Sealer).
type Sealer interface {
	Seal(plain, ad []byte) []byte
}

// NewInquiry is an inquiry from the form. Message and PreferredTime are
// sealed inside SaveInquiry and never written as text.
type NewInquiry struct {
	Contact       NewContact
	Message       string
	PreferredTime string // empty: none given
	Urgent        bool   // the message reads as a crisis: the notification says URGENT
}

// SavedInquiry is what SaveInquiry did.
type SavedInquiry struct {
	InquiryID, ContactID int64
	NewContact           bool   // the address was not a contact before
	ContactStatus        string // active, or why they get no sequence steps
	// Enrolled: the contact has an active enrollment in some sequence
	// already, so this inquiry notifies the practice but starts nothing.
	Enrolled bool
}

// SaveInquiry records an inquiry and its contact in one transaction. The
// inquiry id is the associated data of the seal, and it exists only once
// the row does: the row is inserted with no message, then the message and
// preferred time are sealed under InquiryAD and written into it, before
// the commit, so no reader ever sees the row without them and no text is
// ever written. The caller's plain text goes no further than s.Seal.
func (db *DB) SaveInquiry(ctx context.Context, in NewInquiry, s Sealer) (SavedInquiry, error) {
	c, err := cleanContact(in.Contact)
	if err != nil {
		return SavedInquiry{}, fmt.Errorf("save inquiry: %w", err)
	}
	if s == nil {
		return SavedInquiry{}, errors.New("save inquiry: no sealer (secrets.data_key)")
	}
	var out SavedInquiry
	err = db.tx(ctx, func(tx *Tx) error {
		now := db.nowMS()
		id, status, created, err := tx.upsertContact(ctx, c, now)
		if err != nil {
			return fmt.Errorf("contact: %w", err)
		}
		out = SavedInquiry{ContactID: id, ContactStatus: status, NewContact: created}
		if err := tx.queryRow(ctx, `INSERT INTO inquiries (contact_id, urgent, created_at) VALUES (?, ?, ?) RETURNING id`,
			id, boolInt(in.Urgent), now).Scan(&out.InquiryID); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		msg := s.Seal([]byte(in.Message), InquiryAD(out.InquiryID, FieldMessage))
		var pref []byte
		if in.PreferredTime != "" {
			pref = s.Seal([]byte(in.PreferredTime), InquiryAD(out.InquiryID, FieldPreferredTime))
		}
		if _, err := tx.exec(ctx, `UPDATE inquiries SET message = ?, preferred_time = ? WHERE id = ?`,
			msg, pref, out.InquiryID); err != nil {
			return fmt.Errorf("seal: %w", err)
		}
		return tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM enrollments WHERE contact_id = ? AND state = 'active')`,
			id).Scan(&out.Enrolled)
	})
	if err != nil {
		return SavedInquiry{}, fmt.Errorf("save inquiry: %w", err)
	}
	return out, nil
}

// cleanContact normalises the address and cleans what goes into headers
// and terminals.
func cleanContact(c NewContact) (NewContact, error) {
	e, err := NormalizeEmail(c.Email)
	if err != nil {
		return c, err
	}
	c.Email, c.Name, c.Phone, c.TimeZone = e, CleanName(c.Name), CleanName(c.Phone), CleanName(c.TimeZone)
	return c, nil
}

// InquirySummary is an inquiry as `inquiries list` shows it: never its text.
type InquirySummary struct {
	ID, ContactID  int64
	Email, Name    string
	ContactStatus  string
	Urgent         bool
	CreatedAt      time.Time
	MessageDeleted bool // retention or erasure removed the message
	Views          int  // how many times `inquiries show` opened it
}

// ListInquiries returns the newest inquiries, at most limit (0: all),
// newest first, without their messages.
func (db *DB) ListInquiries(ctx context.Context, limit int) ([]InquirySummary, error) {
	if limit <= 0 {
		limit = math.MaxInt32
	}
	rows, err := db.query(ctx, `SELECT i.id, i.contact_id, c.email, c.name, c.status, i.urgent, i.created_at,
		i.message_deleted_at IS NOT NULL, (SELECT COUNT(*) FROM inquiry_views v WHERE v.inquiry_id = i.id)
		FROM inquiries i JOIN contacts c ON c.id = i.contact_id
		ORDER BY i.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list inquiries: %w", err)
	}
	defer rows.Close()
	var out []InquirySummary
	for rows.Next() {
		var s InquirySummary
		var at int64
		if err := rows.Scan(&s.ID, &s.ContactID, &s.Email, &s.Name, &s.ContactStatus, &s.Urgent, &at,
			&s.MessageDeleted, &s.Views); err != nil {
			return nil, fmt.Errorf("list inquiries: %w", err)
		}
		s.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list inquiries: %w", err)
	}
	return out, nil
}

// Inquiry is one inquiry with its contact, its message still sealed: open
// Message with InquiryAD(ID, FieldMessage), PreferredTime with
// InquiryAD(ID, FieldPreferredTime).
type Inquiry struct {
	ID        int64
	Contact   Contact
	Urgent    bool
	CreatedAt time.Time
	// Message is the sealed message; nil once deleted (MessageDeletedAt).
	Message []byte
	// PreferredTime is the sealed preferred contact time; nil if none.
	PreferredTime    []byte
	MessageDeletedAt time.Time
}

// Contact is the person of an inquiry.
type Contact struct {
	ID                           int64
	Email, Name, Phone, TimeZone string
	Consent                      bool
	Status                       string
}

// Inquiry returns inquiry id, or ErrNotFound.
func (db *DB) Inquiry(ctx context.Context, id int64) (*Inquiry, error) {
	var q Inquiry
	var at int64
	var deleted sql.NullInt64
	err := db.queryRow(ctx, `SELECT i.id, i.urgent, i.created_at, i.message, i.preferred_time, i.message_deleted_at,
		c.id, c.email, c.name, c.phone, c.time_zone, c.consent, c.status
		FROM inquiries i JOIN contacts c ON c.id = i.contact_id WHERE i.id = ?`, id).Scan(
		&q.ID, &q.Urgent, &at, &q.Message, &q.PreferredTime, &deleted,
		&q.Contact.ID, &q.Contact.Email, &q.Contact.Name, &q.Contact.Phone, &q.Contact.TimeZone, &q.Contact.Consent, &q.Contact.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("inquiry %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("inquiry %d: %w", id, err)
	}
	q.CreatedAt, q.MessageDeletedAt = time.UnixMilli(at).UTC(), fromMS(deleted)
	return &q, nil
}

// RecordView records that viewer (who ran `inquiries show`: the OS user,
// or the admin's name) opened inquiry id now; ErrNotFound for no such
// inquiry. Record it before showing the text, so no view goes unrecorded.
func (db *DB) RecordView(ctx context.Context, id int64, viewer string) error {
	res, err := db.exec(ctx, `INSERT INTO inquiry_views (inquiry_id, viewer, viewed_at)
		SELECT id, ?, ? FROM inquiries WHERE id = ?`, CleanName(viewer), db.nowMS(), id)
	if err != nil {
		return fmt.Errorf("record view of inquiry %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("record view of inquiry %d: %w", id, ErrNotFound)
	}
	return nil
}

// DeleteExpiredMessages deletes the message and preferred time of every
// inquiry received before cutoff (now minus inquiries.retention), and
// returns how many it deleted. The rows stay, marked message_deleted_at.
func (db *DB) DeleteExpiredMessages(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := db.exec(ctx, `UPDATE inquiries SET message = NULL, preferred_time = NULL, message_deleted_at = ?
		WHERE created_at < ? AND message_deleted_at IS NULL`, db.nowMS(), cutoff.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete expired messages: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired messages: %w", err)
	}
	return n, nil
}
