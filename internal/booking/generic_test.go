package booking

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVerifyGeneric(t *testing.T) {
	body := fixture(t, "booking_booked.json")
	good := signGeneric(testKey, body)
	tests := []struct {
		name   string
		body   []byte
		header string
		key    []byte
		want   error
	}{
		{"good", body, good, testKey, nil},
		{"good, upper-case hex and spaces", body, "  sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")) + " ", testKey, nil},
		{"one flipped byte in the signature", body, flip(good, len("sha256=")+5), testKey, ErrSignature},
		{"last byte flipped", body, flip(good, len(good)-1), testKey, ErrSignature},
		{"one flipped byte in the body", flipBody(body), good, testKey, ErrSignature},
		{"signed with another key", body, signGeneric(otherKey, body), testKey, ErrSignature},
		{"no header", body, "", testKey, ErrSignature},
		{"no prefix", body, strings.TrimPrefix(good, "sha256="), testKey, ErrSignature},
		{"other hash named", body, "sha1=" + strings.TrimPrefix(good, "sha256="), testKey, ErrSignature},
		{"not hex", body, "sha256=zz" + good[9:], testKey, ErrSignature},
		{"truncated", body, good[:len(good)-2], testKey, ErrSignature},
		{"no key configured", body, good, nil, ErrNotConfigured},
		{"empty key, empty-key signature", body, signGeneric(nil, body), []byte{}, ErrNotConfigured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyGeneric(tt.body, tt.header, tt.key)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyGeneric = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseGeneric(t *testing.T) {
	booked := fixture(t, "booking_booked.json")
	sum := sha256.Sum256(booked)
	tests := []struct {
		name string
		body string
		want Event
		err  error
	}{
		{"booked, address lower-cased, key is the body's SHA-256", string(booked), Event{
			Source: SourceGeneric, Kind: Booked, Emails: []string{"jordan.reyes@example.test"},
			Key: "booking:" + hex.EncodeToString(sum[:]),
		}, nil},
		{"canceled", `{"email":"a@example.test","event":"canceled"}`, Event{
			Source: SourceGeneric, Kind: Canceled, Emails: []string{"a@example.test"},
		}, nil},
		{"extra fields allowed", `{"email":"a@example.test","event":"booked","id":"7"}`, Event{
			Source: SourceGeneric, Kind: Booked, Emails: []string{"a@example.test"},
		}, nil},
		{"unknown event", `{"email":"a@example.test","event":"rescheduled"}`, Event{}, ErrMalformed},
		{"British spelling is not ours", `{"email":"a@example.test","event":"cancelled"}`, Event{}, ErrMalformed},
		{"no event", `{"email":"a@example.test"}`, Event{}, ErrMalformed},
		{"not an address", `{"email":"not-an-address","event":"booked"}`, Event{}, ErrMalformed},
		{"domain without a dot", `{"email":"a@localhost","event":"booked"}`, Event{}, ErrMalformed},
		{"display name", `{"email":"Ann <a@example.test>","event":"booked"}`, Event{}, ErrMalformed},
		{"two addresses", `{"email":"a@example.test, b@example.test","event":"booked"}`, Event{}, ErrMalformed},
		{"no email", `{"event":"booked"}`, Event{}, ErrMalformed},
		{"email is an array", `{"email":["a@example.test"],"event":"booked"}`, Event{}, ErrMalformed},
		{"email is a number", `{"email":42,"event":"booked"}`, Event{}, ErrMalformed},
	}
	for name, b := range malformedBodies {
		tests = append(tests, struct {
			name string
			body string
			want Event
			err  error
		}{name, b, Event{}, ErrMalformed})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGeneric([]byte(tt.body))
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("ParseGeneric = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			checkKey(t, got)
			if tt.want.Key == "" {
				got.Key = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseGeneric (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOpenGeneric checks the whole path: a retry is the same Key, another
// body another Key, and a wrong signature never reaches the parser (a body
// that is not even JSON answers ErrSignature, not ErrMalformed).
func TestOpenGeneric(t *testing.T) {
	booked := fixture(t, "booking_booked.json")
	first, err := OpenGeneric(booked, signGeneric(testKey, booked), testKey)
	if err != nil {
		t.Fatal(err)
	}
	again, err := OpenGeneric(booked, signGeneric(testKey, booked), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("the same delivery twice differs (-first +again):\n%s", diff)
	}
	canceled := fixture(t, "booking_canceled.json")
	other, err := OpenGeneric(canceled, signGeneric(testKey, canceled), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if other.Key == first.Key {
		t.Errorf("booked and canceled share Key %s", first.Key)
	}
	junk := []byte("not json at all")
	if _, err := OpenGeneric(junk, signGeneric(otherKey, junk), testKey); !errors.Is(err, ErrSignature) {
		t.Errorf("OpenGeneric(unsigned junk) = %v, want ErrSignature", err)
	}
	if _, err := OpenGeneric(junk, signGeneric(testKey, junk), testKey); !errors.Is(err, ErrMalformed) {
		t.Errorf("OpenGeneric(signed junk) = %v, want ErrMalformed", err)
	}
}
