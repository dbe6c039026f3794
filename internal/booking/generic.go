package booking

import (
	"fmt"
	"strings"
)

// HeaderGeneric carries our own format's signature.
const HeaderGeneric = "X-Signature"

// genericPrefix starts HeaderGeneric's value: the hash named, then the hex
// HMAC of the raw body.
const genericPrefix = "sha256="

// OpenGeneric verifies and then reads a delivery of our own format (POST
// /webhooks/booking): VerifyGeneric, then ParseGeneric. The body is never
// parsed unless the signature is right.
func OpenGeneric(body []byte, sigHeader string, key []byte) (Event, error) {
	if err := VerifyGeneric(body, sigHeader, key); err != nil {
		return Event{}, err
	}
	return ParseGeneric(body)
}

// VerifyGeneric checks sigHeader, the value of HeaderGeneric, which must be
// "sha256=" and the hex HMAC-SHA256 of the raw body with key (the bounce
// webhook's scheme). An empty key is ErrNotConfigured; anything else wrong
// is ErrSignature.
func VerifyGeneric(body []byte, sigHeader string, key []byte) error {
	if len(key) == 0 {
		return ErrNotConfigured
	}
	got, ok := strings.CutPrefix(strings.TrimSpace(sigHeader), genericPrefix)
	if !ok || !hexEqual(got, mac(key, body)) {
		return fmt.Errorf("%w: want %s: %s<hex HMAC-SHA256 of the body>", ErrSignature, HeaderGeneric, genericPrefix)
	}
	return nil
}

// genericBody is our own format: {"email": "...", "event": "booked"} (or
// "canceled"). Other fields are allowed and ignored, but they change the
// Key (see ParseGeneric).
type genericBody struct {
	Email string `json:"email"`
	Event string `json:"event"`
}

// ParseGeneric reads a verified body of our own format. Call it only after
// VerifyGeneric.
//
// The format has no id and no timestamp, so the Key is the SHA-256 of the
// raw body: a sender retrying a delivery resends the same signed bytes and
// gets the same Key, so the retry is one event. Two identical bodies are
// indeed the same fact ("this person booked"), so folding them loses
// nothing; a sender that means two distinct happenings can add any field of
// its own (an id, a time) to tell them apart. Hashing also keeps the
// address, which is in the body, out of the Key. At is zero: the body does
// not say when.
func ParseGeneric(body []byte) (Event, error) {
	var in genericBody
	if err := decodeObject(body, &in); err != nil {
		return Event{}, fmt.Errorf("booking webhook: %w", err)
	}
	var kind Kind
	switch in.Event {
	case "booked":
		kind = Booked
	case "canceled":
		kind = Canceled
	default:
		return Event{}, fmt.Errorf("booking webhook: %w: event: want booked or canceled", ErrMalformed)
	}
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return Event{}, fmt.Errorf("booking webhook: %w: email: %v", ErrMalformed, err)
	}
	return Event{
		Source: SourceGeneric,
		Kind:   kind,
		Emails: []string{email},
		Key:    eventKey(SourceGeneric, string(body)),
	}, nil
}
