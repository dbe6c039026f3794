// Package booking verifies and reads the webhooks that say a person booked,
// canceled or moved a consult: our own signed format, Calendly's and
// Cal.com's. It is pure (no I/O, no clock of its own, no package of ours):
// the web handler reads the body, calls one Open function, maps the error
// to a status and hands the Event to the store.
//
// Every Open function checks the signature over the raw body first, in
// constant time, and parses only what passed. Errors are the sentinels
// below, wrapped with a short context that never quotes the body: no error
// string carries an email address.
package booking

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
)

// Sources, as Event.Source names them. Each is also the prefix of the
// Event's Key, so two sources can never share a Key.
const (
	SourceGeneric  = "booking"
	SourceCalendly = "calendly"
	SourceCalcom   = "calcom"
)

// Kind is what the person did. The zero Kind is Ignored, so an Event that
// was never filled in changes nothing.
type Kind int

// The kinds of Event.
const (
	// Ignored is a delivery that is genuine but says nothing about a
	// booking (a Cal.com PING, MEETING_ENDED, a Calendly no-show…): answer
	// 2xx so the sender stops retrying, and change nothing.
	Ignored Kind = iota
	// Booked: the person has a consult. Their sequences end.
	Booked
	// Canceled: the person (or the practice) canceled and no new time was
	// chosen. It never restarts a sequence.
	Canceled
	// Rescheduled: the booking moved to another time. The person still has
	// a consult, so this is not a cancellation.
	Rescheduled
)

// String returns the kind's name as logs and metrics spell it.
func (k Kind) String() string {
	switch k {
	case Booked:
		return "booked"
	case Canceled:
		return "canceled"
	case Rescheduled:
		return "rescheduled"
	default:
		return "ignored"
	}
}

// Event is one verified delivery, read.
type Event struct {
	// Source is SourceGeneric, SourceCalendly or SourceCalcom.
	Source string
	// Kind says what happened. Ignored events carry no Emails and no Key:
	// there is nothing to record.
	Kind Kind
	// Emails are the people concerned, lower-cased, valid and without
	// duplicates, in the order the payload gives them. Never log them.
	Emails []string
	// Key is the idempotency key: the same delivery sent twice (a retry)
	// has the same Key, two different happenings never share one. It is
	// the source, a colon and 64 hex digits of a SHA-256, so it has a fixed
	// shape for any store and carries no address.
	Key string
	// At is when the sender says the event happened; zero when it does not
	// say (our own format), in which case the caller uses its clock.
	At time.Time
}

// The errors the Open, Verify and Parse functions return, wrapped. The
// handler branches with errors.Is.
var (
	// ErrNotConfigured: no key or secret is set for this source, so the
	// route must not exist (404). An unsigned door would let anyone stop
	// anyone's sequence.
	ErrNotConfigured = errors.New("booking: webhook not configured")
	// ErrSignature: the signature header is missing, malformed or wrong
	// (401).
	ErrSignature = errors.New("booking: missing or wrong signature")
	// ErrStale: the signature is right but its timestamp is too old or too
	// far ahead: a replay or a badly wrong clock (401).
	ErrStale = errors.New("booking: signature timestamp out of range")
	// ErrMalformed: a genuine delivery whose body cannot be read (400).
	ErrMalformed = errors.New("booking: malformed body")
)

// maxEmailLen is the longest address RFC 5321 lets through a mail server.
const maxEmailLen = 254

// decodeObject decodes body, which must be exactly one JSON object, into v.
// A JSON null, array or scalar where the object belongs is ErrMalformed, as
// is anything after the object. The error names at most the field whose
// type is wrong, never a value.
func decodeObject(body []byte, v any) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("%w: want one JSON object", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return fmt.Errorf("%w: %s has the wrong type", ErrMalformed, typeErr.Field)
		}
		return fmt.Errorf("%w: not valid JSON", ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: want one JSON object, nothing after it", ErrMalformed)
	}
	return nil
}

// normalizeEmail returns s lower-cased if it is one bare address with a
// dotted domain, the rule internal/store applies (this package imports none
// of ours, so it keeps its own copy). A display name ("Ann <a@b.c>") is
// refused: these fields hold an address and nothing else. The error never
// quotes s.
func normalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxEmailLen {
		return "", errors.New("not an email address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", errors.New("not an email address")
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", errors.New("not an email address")
	}
	return strings.ToLower(a.Address), nil
}

// eventKey builds a Key: the source, a colon and the hex SHA-256 of the
// parts joined by NUL (which none of them can contain, so two different
// part lists never hash the same input).
func eventKey(source string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return source + ":" + hex.EncodeToString(sum[:])
}

// parseTime reads an RFC 3339 timestamp with any fraction (Calendly writes
// microseconds, Cal.com milliseconds). Empty is the zero time; anything
// else unreadable is ErrMalformed.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s is not an RFC 3339 time", ErrMalformed, field)
	}
	return t.UTC(), nil
}
