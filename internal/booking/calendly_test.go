package booking

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestVerifyCalendly(t *testing.T) {
	body := fixture(t, "calendly_invitee_created.json")
	signedAt := now.Add(-2 * time.Second)
	good := signCalendly(calendlyKey, body, signedAt)
	ts := "t=" + strconv.FormatInt(signedAt.Unix(), 10)
	goodSig := strings.TrimPrefix(good, ts+",v1=")
	wrongSig := strings.TrimPrefix(signCalendly(otherKey, body, signedAt), ts+",v1=")
	tests := []struct {
		name   string
		body   []byte
		header string
		key    []byte
		now    time.Time
		want   error
	}{
		{"good", body, good, calendlyKey, now, nil},
		{"good, spaces and order swapped", body, " v1=" + goodSig + " , " + ts + " ", calendlyKey, now, nil},
		{"several v1, the last right (key rotation)", body, ts + ",v1=" + wrongSig + ",v1=" + goodSig, calendlyKey, now, nil},
		{"several v1, the first right", body, ts + ",v1=" + goodSig + ",v1=" + wrongSig, calendlyKey, now, nil},
		{"unknown scheme skipped", body, ts + ",v0=abc,v1=" + goodSig, calendlyKey, now, nil},
		{"4m59s old", body, signCalendly(calendlyKey, body, now.Add(-299*time.Second)), calendlyKey, now, nil},
		{"exactly 5 minutes old", body, signCalendly(calendlyKey, body, now.Add(-CalendlyMaxAge)), calendlyKey, now, nil},
		{"30s in the future", body, signCalendly(calendlyKey, body, now.Add(30*time.Second)), calendlyKey, now, nil},
		{"5m01s old", body, signCalendly(calendlyKey, body, now.Add(-301*time.Second)), calendlyKey, now, ErrStale},
		{"a day old (a replay)", body, signCalendly(calendlyKey, body, now.Add(-24*time.Hour)), calendlyKey, now, ErrStale},
		{"2 minutes in the future", body, signCalendly(calendlyKey, body, now.Add(2*time.Minute)), calendlyKey, now, ErrStale},
		{"t=0", body, signCalendly(calendlyKey, body, time.Unix(0, 0)), calendlyKey, now, ErrStale},
		{"one flipped byte in v1", body, flip(good, len(good)-7), calendlyKey, now, ErrSignature},
		{"one flipped byte in the body", flipBody(body), good, calendlyKey, now, ErrSignature},
		{"t changed, v1 kept", body, "t=" + strconv.FormatInt(signedAt.Unix()+1, 10) + ",v1=" + goodSig, calendlyKey, now, ErrSignature},
		{"signed with another key", body, signCalendly(otherKey, body, signedAt), calendlyKey, now, ErrSignature},
		{"stale and wrong is a signature error", body, signCalendly(otherKey, body, now.Add(-time.Hour)), calendlyKey, now, ErrSignature},
		{"body signed without the timestamp", body, ts + ",v1=" + hmacHex(calendlyKey, string(body)), calendlyKey, now, ErrSignature},
		{"no header", body, "", calendlyKey, now, ErrSignature},
		{"no t", body, "v1=" + goodSig, calendlyKey, now, ErrSignature},
		{"no v1", body, ts, calendlyKey, now, ErrSignature},
		{"t twice", body, ts + "," + ts + ",v1=" + goodSig, calendlyKey, now, ErrSignature},
		{"t not digits", body, "t=-" + ts[2:] + ",v1=" + goodSig, calendlyKey, now, ErrSignature},
		{"t in milliseconds is too long", body, signCalendly(calendlyKey, body, time.Unix(signedAt.UnixMilli(), 0)), calendlyKey, now, ErrSignature},
		{"v1 not hex", body, ts + ",v1=xyz", calendlyKey, now, ErrSignature},
		{"too many v1", body, ts + strings.Repeat(",v1="+wrongSig, 8) + ",v1=" + goodSig, calendlyKey, now, ErrSignature},
		{"no key configured", body, good, nil, now, ErrNotConfigured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyCalendly(tt.body, tt.header, tt.key, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyCalendly = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseCalendly(t *testing.T) {
	jordan := []string{"jordan.reyes@example.test"}
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
		{"calendly_invitee_created.json", Event{Source: SourceCalendly, Kind: Booked, Emails: jordan, At: at("2026-11-16T17:51:19Z")}},
		{"calendly_invitee_canceled.json", Event{Source: SourceCalendly, Kind: Canceled, Emails: jordan, At: at("2026-11-17T09:12:44Z")}},
		// A reschedule sends both halves; neither is a cancellation.
		{"calendly_invitee_canceled_rescheduled.json", Event{Source: SourceCalendly, Kind: Rescheduled, Emails: jordan, At: at("2026-11-17T10:03:05Z")}},
		{"calendly_invitee_created_rescheduled.json", Event{Source: SourceCalendly, Kind: Booked, Emails: jordan, At: at("2026-11-17T10:03:05Z")}},
		{"calendly_invitee_no_show_created.json", Event{Source: SourceCalendly, Kind: Ignored, At: at("2026-11-19T16:25:00Z")}},
	}
	keys := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := ParseCalendly(fixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			checkKey(t, got)
			if got.Key != "" {
				if prev, dup := keys[got.Key]; dup {
					t.Errorf("Key shared with %s", prev)
				}
				keys[got.Key] = tt.fixture
			}
			got.Key = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCalendly (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCalendlyMalformed(t *testing.T) {
	bodies := map[string]string{
		"payload is an array":  `{"event":"invitee.created","payload":[{"uri":"u","email":"a@example.test"}]}`,
		"payload is null":      `{"event":"invitee.created","payload":null}`,
		"no payload":           `{"event":"invitee.canceled"}`,
		"no uri":               `{"event":"invitee.created","payload":{"email":"a@example.test"}}`,
		"no email":             `{"event":"invitee.created","payload":{"uri":"u"}}`,
		"email not an address": `{"event":"invitee.created","payload":{"uri":"u","email":"a.example.test"}}`,
		"email is an object":   `{"event":"invitee.created","payload":{"uri":"u","email":{"x":"a@example.test"}}}`,
		"rescheduled a string": `{"event":"invitee.canceled","payload":{"uri":"u","email":"a@example.test","rescheduled":"true"}}`,
		"event is a number":    `{"event":1,"payload":{"uri":"u","email":"a@example.test"}}`,
		"no event":             `{"payload":{"uri":"u","email":"a@example.test"}}`,
		"created_at not time":  `{"event":"invitee.created","created_at":"yesterday","payload":{"uri":"u","email":"a@example.test"}}`,
	}
	for name, b := range malformedBodies {
		bodies[name] = b
	}
	for name, b := range bodies {
		t.Run(name, func(t *testing.T) {
			if ev, err := ParseCalendly([]byte(b)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCalendly = %+v, %v; want ErrMalformed", ev, err)
			}
		})
	}
}

// TestParseCalendlyIgnoresOtherShapes: an event we do not handle is
// answered as Ignored whatever its payload looks like, so Calendly never
// retries (or disables the subscription) over a shape we do not read.
func TestParseCalendlyIgnoresOtherShapes(t *testing.T) {
	for _, b := range []string{
		`{"event":"routing_form_submission.created","payload":{"uri":"u","questions_and_answers":[]}}`,
		`{"event":"event_type.updated","payload":[]}`,
		`{"event":"invitee_no_show.deleted","created_at":"soon","payload":{"email":{"x":1}}}`,
		`{"event":"meeting_recap.created"}`,
	} {
		ev, err := ParseCalendly([]byte(b))
		if err != nil || ev.Kind != Ignored || ev.Emails != nil || ev.Key != "" {
			t.Errorf("ParseCalendly(%s) = %+v, %v; want Ignored", b, ev, err)
		}
	}
}

// TestOpenCalendlyRetry: Calendly retries a failed delivery for up to a
// day, signing each attempt afresh. Every attempt gives the same Key.
func TestOpenCalendlyRetry(t *testing.T) {
	body := fixture(t, "calendly_invitee_canceled_rescheduled.json")
	first, err := OpenCalendly(body, signCalendly(calendlyKey, body, now), calendlyKey, now)
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(6 * time.Hour)
	retry, err := OpenCalendly(body, signCalendly(calendlyKey, body, later.Add(-time.Second)), calendlyKey, later)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, retry); diff != "" {
		t.Errorf("a retry differs (-first +retry):\n%s", diff)
	}
	if first.Kind != Rescheduled {
		t.Errorf("Kind = %s, want rescheduled", first.Kind)
	}
	// The first attempt's signature, replayed hours later, is refused.
	if _, err := OpenCalendly(body, signCalendly(calendlyKey, body, now), calendlyKey, later); !errors.Is(err, ErrStale) {
		t.Errorf("replay = %v, want ErrStale", err)
	}
	// A plain cancellation of an invitee has the invitee's uri, like the
	// booking it cancels, and must still be a different event.
	created, _ := ParseCalendly(fixture(t, "calendly_invitee_created.json"))
	canceled, _ := ParseCalendly(fixture(t, "calendly_invitee_canceled.json"))
	if created.Key == canceled.Key {
		t.Errorf("invitee.created and invitee.canceled of one invitee share Key %s", created.Key)
	}
}
