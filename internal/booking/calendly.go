package booking

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HeaderCalendly carries Calendly's signature: t=<unix seconds>,v1=<hex>.
const HeaderCalendly = "Calendly-Webhook-Signature"

// Calendly's timestamp window. A delivery signed more than CalendlyMaxAge
// ago is refused as a replay: Calendly signs each attempt afresh, so its
// own retries (for up to a day) still pass. CalendlyMaxSkew allows for a
// clock a little ahead of ours, no more.
const (
	CalendlyMaxAge  = 5 * time.Minute
	CalendlyMaxSkew = time.Minute
)

// maxCalendlySigs caps the v1 values one header may carry: more than one is
// tolerated (a key being rotated), a long list is not a real sender.
const maxCalendlySigs = 8

// OpenCalendly verifies and then reads a Calendly delivery (POST
// /webhooks/calendly): VerifyCalendly, then ParseCalendly.
func OpenCalendly(body []byte, header string, key []byte, now time.Time) (Event, error) {
	if err := VerifyCalendly(body, header, key, now); err != nil {
		return Event{}, err
	}
	return ParseCalendly(body)
}

// VerifyCalendly checks header, the value of HeaderCalendly:
// "t=<unix seconds>,v1=<hex>", where v1 is the HMAC-SHA256 of "<t>." and
// the raw body with key (Calendly's webhook signing key). Several v1 values
// are tolerated and one right one suffices; other schemes are skipped. The
// signature is checked first, so ErrStale means a genuine but old (or
// future) delivery: one signed more than CalendlyMaxAge before now, or more
// than CalendlyMaxSkew after it. An empty key is ErrNotConfigured.
func VerifyCalendly(body []byte, header string, key []byte, now time.Time) error {
	if len(key) == 0 {
		return ErrNotConfigured
	}
	ts, sigs, ok := splitCalendlyHeader(header)
	if !ok {
		return fmt.Errorf("%w: want %s: t=<unix>,v1=<hex>", ErrSignature, HeaderCalendly)
	}
	want := mac(key, []byte(ts), []byte("."), body)
	match := false
	for _, s := range sigs {
		// No early exit: every value is compared, so the time taken does
		// not say which one matched.
		match = hexEqual(s, want) || match
	}
	if !match {
		return fmt.Errorf("%w: %s does not match the body", ErrSignature, HeaderCalendly)
	}
	secs, _ := strconv.ParseInt(ts, 10, 64) // digits only, checked by splitCalendlyHeader
	age := now.Sub(time.Unix(secs, 0))
	if age > CalendlyMaxAge || age < -CalendlyMaxSkew {
		return fmt.Errorf("%w: signed %s ago (negative: ahead), want at most %s ago or %s ahead", ErrStale,
			age.Round(time.Second), CalendlyMaxAge, CalendlyMaxSkew)
	}
	return nil
}

// splitCalendlyHeader returns the t value (1 to 12 digits, so well inside
// int64 and any sane date) and the v1 values. It fails when t is missing,
// repeated or not digits, or when there is no v1 or too many.
func splitCalendlyHeader(header string) (ts string, sigs []string, ok bool) {
	for part := range strings.SplitSeq(header, ",") {
		name, value, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			continue
		}
		switch name {
		case "t":
			if ts != "" || !allDigits(value, 12) {
				return "", nil, false
			}
			ts = value
		case "v1":
			sigs = append(sigs, value)
		}
	}
	if ts == "" || len(sigs) == 0 || len(sigs) > maxCalendlySigs {
		return "", nil, false
	}
	return ts, sigs, true
}

// allDigits reports whether s is 1 to max ASCII digits.
func allDigits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// calendlyBody is Calendly's webhook body: {event, created_at, created_by,
// payload}. The payload is read only for the events handled, so the shape
// of one we ignore can never make a genuine delivery fail.
type calendlyBody struct {
	Event     string          `json:"event"`
	CreatedAt string          `json:"created_at"`
	Payload   json.RawMessage `json:"payload"`
}

// calendlyInvitee is the part of the Invitee (the payload of invitee.*
// events) read here.
type calendlyInvitee struct {
	URI         string `json:"uri"`
	Email       string `json:"email"`
	Rescheduled bool   `json:"rescheduled"`
}

// ParseCalendly reads a verified Calendly body. Call it only after
// VerifyCalendly.
//
//   - invitee.created is Booked: a new booking, or the new half of a
//     reschedule (payload.old_invitee set), which is a booking all the same.
//   - invitee.canceled with payload.rescheduled true is Rescheduled: the
//     old half of a reschedule, never a cancellation. Calendly may deliver
//     it before or after the new half.
//   - invitee.canceled otherwise is Canceled.
//   - Any other event (invitee_no_show.*, routing_form_submission.*, …)
//     is Ignored.
//
// Emails is payload.email, the invitee; the event's guests are not the
// person who wrote to the practice. At is the top-level created_at.
//
// The Key is the Kind with payload.uri, the invitee's canonical URI:
// Calendly retries a failed delivery for up to a day with the same body,
// so the same uri and kind is one event. The kind is part of the key
// because a cancellation carries the same invitee uri as the booking it
// cancels, and must not be folded into it.
func ParseCalendly(body []byte) (Event, error) {
	var in calendlyBody
	if err := decodeObject(body, &in); err != nil {
		return Event{}, fmt.Errorf("calendly webhook: %w", err)
	}
	var kind Kind
	switch in.Event {
	case "invitee.created":
		kind = Booked
	case "invitee.canceled":
		kind = Canceled
	case "":
		return Event{}, fmt.Errorf("calendly webhook: %w: event is missing", ErrMalformed)
	default:
		at, _ := parseTime("created_at", in.CreatedAt) // only informative here
		return Event{Source: SourceCalendly, Kind: Ignored, At: at}, nil
	}
	at, err := parseTime("created_at", in.CreatedAt)
	if err != nil {
		return Event{}, fmt.Errorf("calendly webhook: %w", err)
	}
	var p calendlyInvitee
	if err := decodeObject(in.Payload, &p); err != nil {
		return Event{}, fmt.Errorf("calendly webhook: payload: %w", err)
	}
	if p.URI == "" {
		return Event{}, fmt.Errorf("calendly webhook: %w: payload.uri is missing", ErrMalformed)
	}
	if kind == Canceled && p.Rescheduled {
		kind = Rescheduled
	}
	email, err := normalizeEmail(p.Email)
	if err != nil {
		return Event{}, fmt.Errorf("calendly webhook: %w: payload.email: %v", ErrMalformed, err)
	}
	return Event{
		Source: SourceCalendly,
		Kind:   kind,
		Emails: []string{email},
		Key:    eventKey(SourceCalendly, kind.String(), p.URI),
		At:     at,
	}, nil
}
