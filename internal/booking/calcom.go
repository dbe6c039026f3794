package booking

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// HeaderCalcom carries Cal.com's signature: the bare hex HMAC-SHA256 of the
// raw body.
const HeaderCalcom = "X-Cal-Signature-256"

// calcomNoSecret is what Cal.com puts in HeaderCalcom when the webhook has
// no secret set (createWebhookSignature in its sendPayload.ts).
const calcomNoSecret = "no-secret-provided"

// maxCalcomAttendees caps the attendees read from one booking: a consult
// has a booker and perhaps a guest or two.
const maxCalcomAttendees = 50

// OpenCalcom verifies and then reads a Cal.com delivery (POST
// /webhooks/calcom): VerifyCalcom, then ParseCalcom.
func OpenCalcom(body []byte, header string, secret []byte) (Event, error) {
	if err := VerifyCalcom(body, header, secret); err != nil {
		return Event{}, err
	}
	return ParseCalcom(body)
}

// VerifyCalcom checks header, the value of HeaderCalcom, which must be the
// hex HMAC-SHA256 of the raw body with secret (the secret set on the
// Cal.com webhook). An empty secret is ErrNotConfigured: the route must not
// be served unsigned. "no-secret-provided", which Cal.com sends when its
// side has no secret, is ErrSignature like any other wrong value. Cal.com
// signs no timestamp, so replays are stopped by the Key alone.
func VerifyCalcom(body []byte, header string, secret []byte) error {
	if len(secret) == 0 {
		return ErrNotConfigured
	}
	header = strings.TrimSpace(header)
	if header == calcomNoSecret {
		return fmt.Errorf("%w: Cal.com sent %s: set the same secret on the Cal.com webhook", ErrSignature, calcomNoSecret)
	}
	if !hexEqual(header, mac(secret, body)) {
		return fmt.Errorf("%w: %s does not match the body", ErrSignature, HeaderCalcom)
	}
	return nil
}

// calcomBody is Cal.com's default webhook body: {triggerEvent, createdAt,
// payload}, payload being the booking for booking triggers. The payload is
// read only for the triggers handled, so the shape of one we ignore can
// never make a genuine delivery fail. A custom payload template on the
// Cal.com side changes this shape and is not supported.
type calcomBody struct {
	TriggerEvent string          `json:"triggerEvent"`
	CreatedAt    string          `json:"createdAt"`
	Payload      json.RawMessage `json:"payload"`
}

// calcomBooking is the part of a booking payload read here.
type calcomBooking struct {
	UID       string `json:"uid"`
	Attendees []struct {
		Email string `json:"email"`
	} `json:"attendees"`
}

// calcomKinds maps the triggers that concern a booking to a Kind; every
// other trigger (PING, MEETING_ENDED, BOOKING_REQUESTED, BOOKING_PAID, …)
// is Ignored. BOOKING_REQUESTED is not yet a booking: the host has to
// confirm it, and the confirmation arrives as BOOKING_CREATED.
var calcomKinds = map[string]Kind{
	"BOOKING_CREATED":     Booked,
	"BOOKING_RESCHEDULED": Rescheduled,
	"BOOKING_CANCELLED":   Canceled,
}

// ParseCalcom reads a verified Cal.com body. Call it only after
// VerifyCalcom.
//
// Emails are payload.attendees[].email: the booker and any guests they
// added. A BOOKING_CANCELLED with payload.requestReschedule (the host
// canceled and asked the person to pick another time) is still Canceled:
// no new time exists yet, and when the person picks one Cal.com sends a
// booking trigger of its own. At is the top-level createdAt.
//
// The Key is the Kind (one per trigger) with payload.uid. The uid alone
// would not do: a booking's BOOKING_CREATED and its later BOOKING_CANCELLED
// carry the same uid, and so do a BOOKING_RESCHEDULED and a later
// cancellation of the moved booking (a reschedule makes a new booking
// whose uid is payload.uid, the old one being payload.rescheduleUid). With
// no timestamp signed, the Key is also what makes a replayed delivery
// harmless.
func ParseCalcom(body []byte) (Event, error) {
	var in calcomBody
	if err := decodeObject(body, &in); err != nil {
		return Event{}, fmt.Errorf("cal.com webhook: %w", err)
	}
	if in.TriggerEvent == "" {
		return Event{}, fmt.Errorf("cal.com webhook: %w: triggerEvent is missing", ErrMalformed)
	}
	kind, ok := calcomKinds[in.TriggerEvent]
	if !ok {
		at, _ := parseTime("createdAt", in.CreatedAt) // only informative here
		return Event{Source: SourceCalcom, Kind: Ignored, At: at}, nil
	}
	at, err := parseTime("createdAt", in.CreatedAt)
	if err != nil {
		return Event{}, fmt.Errorf("cal.com webhook: %w", err)
	}
	var p calcomBooking
	if err := decodeObject(in.Payload, &p); err != nil {
		return Event{}, fmt.Errorf("cal.com webhook: payload: %w", err)
	}
	if p.UID == "" {
		return Event{}, fmt.Errorf("cal.com webhook: %w: payload.uid is missing", ErrMalformed)
	}
	emails, err := calcomEmails(p)
	if err != nil {
		return Event{}, fmt.Errorf("cal.com webhook: %w", err)
	}
	return Event{
		Source: SourceCalcom,
		Kind:   kind,
		Emails: emails,
		Key:    eventKey(SourceCalcom, kind.String(), p.UID),
		At:     at,
	}, nil
}

// calcomEmails returns the attendees' addresses, normalised and without
// duplicates; one that is not an address makes the whole payload
// ErrMalformed rather than be skipped, as Cal.com validates them itself.
func calcomEmails(p calcomBooking) ([]string, error) {
	if len(p.Attendees) == 0 || len(p.Attendees) > maxCalcomAttendees {
		return nil, fmt.Errorf("%w: payload.attendees: want 1 to %d", ErrMalformed, maxCalcomAttendees)
	}
	emails := make([]string, 0, len(p.Attendees))
	for i, a := range p.Attendees {
		email, err := normalizeEmail(a.Email)
		if err != nil {
			return nil, fmt.Errorf("%w: payload.attendees[%d].email: %v", ErrMalformed, i, err)
		}
		if !slices.Contains(emails, email) {
			emails = append(emails, email)
		}
	}
	return emails, nil
}
