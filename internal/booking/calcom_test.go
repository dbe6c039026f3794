package booking

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestVerifyCalcom(t *testing.T) {
	body := fixture(t, "calcom_booking_created.json")
	good := signCalcom(calcomSecret, body)
	tests := []struct {
		name   string
		body   []byte
		header string
		secret []byte
		want   error
	}{
		{"good", body, good, calcomSecret, nil},
		{"good, upper-case hex", body, strings.ToUpper(good), calcomSecret, nil},
		{"one flipped byte in the signature", body, flip(good, 0), calcomSecret, ErrSignature},
		{"one flipped byte in the body", flipBody(body), good, calcomSecret, ErrSignature},
		{"signed with another secret", body, signCalcom(otherKey, body), calcomSecret, ErrSignature},
		{"Cal.com had no secret set", body, "no-secret-provided", calcomSecret, ErrSignature},
		{"no header", body, "", calcomSecret, ErrSignature},
		{"our own prefix is not Cal.com's", body, "sha256=" + good, calcomSecret, ErrSignature},
		{"truncated", body, good[:32], calcomSecret, ErrSignature},
		{"no secret configured", body, good, nil, ErrNotConfigured},
		{"no secret on either side", body, "no-secret-provided", nil, ErrNotConfigured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyCalcom(tt.body, tt.header, tt.secret)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyCalcom = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseCalcom(t *testing.T) {
	both := []string{"jordan.reyes@example.test", "guest.friend@example.test"}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		fixture string
		want    Event
	}{
		{"calcom_booking_created.json", Event{Source: SourceCalcom, Kind: Booked, Emails: both, At: at("2026-11-16T17:51:19.538Z")}},
		{"calcom_booking_rescheduled.json", Event{Source: SourceCalcom, Kind: Rescheduled, Emails: both, At: at("2026-11-17T10:03:05.112Z")}},
		{"calcom_booking_cancelled.json", Event{Source: SourceCalcom, Kind: Canceled, Emails: both, At: at("2026-11-18T08:40:10.004Z")}},
		{"calcom_ping.json", Event{Source: SourceCalcom, Kind: Ignored, At: at("2026-11-16T12:00:00Z")}},
		{"calcom_meeting_ended.json", Event{Source: SourceCalcom, Kind: Ignored, At: at("2026-11-19T16:20:00Z")}},
		{"calcom_booking_requested.json", Event{Source: SourceCalcom, Kind: Ignored, At: at("2026-11-16T17:51:19.538Z")}},
	}
	keys := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := ParseCalcom(fixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			checkKey(t, got)
			if got.Key != "" {
				// The reschedule and the later cancel share a uid; the
				// created booking and its reschedule do not.
				if prev, dup := keys[got.Key]; dup {
					t.Errorf("Key shared with %s", prev)
				}
				keys[got.Key] = tt.fixture
			}
			got.Key = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCalcom (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCalcomMalformed(t *testing.T) {
	bodies := map[string]string{
		"payload is an array":        `{"triggerEvent":"BOOKING_CREATED","payload":[]}`,
		"payload is null":            `{"triggerEvent":"BOOKING_CREATED","payload":null}`,
		"no uid":                     `{"triggerEvent":"BOOKING_CREATED","payload":{"attendees":[{"email":"a@example.test"}]}}`,
		"uid is a number":            `{"triggerEvent":"BOOKING_CREATED","payload":{"uid":91,"attendees":[{"email":"a@example.test"}]}}`,
		"no attendees":               `{"triggerEvent":"BOOKING_CANCELLED","payload":{"uid":"u"}}`,
		"empty attendees":            `{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u","attendees":[]}}`,
		"attendees is an object":     `{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u","attendees":{"email":"a@example.test"}}}`,
		"attendee is a string":       `{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u","attendees":["a@example.test"]}}`,
		"an attendee not an address": `{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u","attendees":[{"email":"a@example.test"},{"email":"b at example.test"}]}}`,
		"an attendee without email":  `{"triggerEvent":"BOOKING_RESCHEDULED","payload":{"uid":"u","attendees":[{"name":"B"}]}}`,
		"too many attendees":         `{"triggerEvent":"BOOKING_CREATED","payload":{"uid":"u","attendees":[` + strings.Repeat(`{"email":"a@example.test"},`, 50) + `{"email":"a@example.test"}]}}`,
		"no triggerEvent":            `{"payload":{"uid":"u","attendees":[{"email":"a@example.test"}]}}`,
		"createdAt not a time":       `{"triggerEvent":"BOOKING_CREATED","createdAt":"now","payload":{"uid":"u","attendees":[{"email":"a@example.test"}]}}`,
	}
	for name, b := range malformedBodies {
		bodies[name] = b
	}
	for name, b := range bodies {
		t.Run(name, func(t *testing.T) {
			if ev, err := ParseCalcom([]byte(b)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCalcom = %+v, %v; want ErrMalformed", ev, err)
			}
		})
	}
}

// TestParseCalcomIgnoresOtherShapes: a trigger we do not handle is
// answered as Ignored whatever its payload looks like, so Cal.com never
// retries (or disables the webhook) over a shape we do not read.
func TestParseCalcomIgnoresOtherShapes(t *testing.T) {
	for _, b := range []string{
		`{"triggerEvent":"PING","payload":[]}`,
		`{"triggerEvent":"PING"}`,
		`{"triggerEvent":"PING","createdAt":"now","payload":{"uid":7}}`,
		`{"triggerEvent":"OOO_CREATED","payload":{"oooEntry":{"id":1}}}`,
		`{"triggerEvent":"BOOKING_NO_SHOW_UPDATED","payload":{"bookingUid":"u","attendees":[{"email":"a@example.test","noShow":true}]}}`,
		`{"triggerEvent":"FORM_SUBMITTED","payload":{"attendees":"not a list"}}`,
	} {
		ev, err := ParseCalcom([]byte(b))
		if err != nil || ev.Kind != Ignored || ev.Emails != nil || ev.Key != "" {
			t.Errorf("ParseCalcom(%s) = %+v, %v; want Ignored", b, ev, err)
		}
	}
}

// TestOpenCalcomTwice: Cal.com signs no timestamp, so a repeated delivery
// (a retry or a replay) is told apart only by its Key, which must match.
func TestOpenCalcomTwice(t *testing.T) {
	body := fixture(t, "calcom_booking_created.json")
	sig := signCalcom(calcomSecret, body)
	first, err := OpenCalcom(body, sig, calcomSecret)
	if err != nil {
		t.Fatal(err)
	}
	again, err := OpenCalcom(body, sig, calcomSecret)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("the same delivery twice differs (-first +again):\n%s", diff)
	}
	// Cal.com's placeholder for "no secret" is named in the error, so the
	// practice knows to set the secret on Cal.com's side.
	if err := VerifyCalcom(body, "no-secret-provided", calcomSecret); err == nil || !strings.Contains(err.Error(), "set the same secret") {
		t.Errorf("VerifyCalcom(no-secret-provided) = %v, want an error saying to set the secret", err)
	}
	// An unknown trigger is verified like any other: unsigned, it is refused.
	ping := fixture(t, "calcom_ping.json")
	if _, err := OpenCalcom(ping, "no-secret-provided", calcomSecret); !errors.Is(err, ErrSignature) {
		t.Errorf("unsigned PING = %v, want ErrSignature", err)
	}
	if ev, err := OpenCalcom(ping, signCalcom(calcomSecret, ping), calcomSecret); err != nil || ev.Kind != Ignored {
		t.Errorf("signed PING = %+v, %v; want Ignored", ev, err)
	}
}
