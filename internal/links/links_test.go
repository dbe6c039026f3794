package links

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

var urlSafe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

var purposes = []Purpose{Unsubscribe, Preferences, Confirm, StopSequence}

func newTestSigner(t *testing.T, key string) *Signer {
	t.Helper()
	s, err := NewSigner("https://mail.example/", []byte(key), nil)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := newTestSigner(t, "0123456789abcdef0123456789abcdef")
	ids := []int64{1, 2, 255, 256, 1 << 31, 1 << 62, math.MaxInt64}
	for _, p := range purposes {
		for _, id := range ids {
			tok := s.Token(p, id)
			got, err := s.Verify(p, tok)
			if err != nil {
				t.Fatalf("%v id %d: Verify(%q): %v", p, id, tok, err)
			}
			if got != id {
				t.Errorf("%v: Verify returned id %d, want %d", p, got, id)
			}
		}
	}
}

func TestFixedLengthAndAlphabet(t *testing.T) {
	s := newTestSigner(t, "0123456789abcdef0123456789abcdef")
	for _, p := range purposes {
		for shift := 0; shift <= 62; shift++ {
			id := int64(1) << shift
			for _, id := range []int64{id, id | (id - 1)} {
				tok := s.Token(p, id)
				if len(tok) != TokenLen {
					t.Fatalf("%v id %d: token %q has length %d, want %d", p, id, tok, len(tok), TokenLen)
				}
				if !urlSafe.MatchString(tok) {
					t.Fatalf("%v id %d: token %q has characters outside [A-Za-z0-9_-]", p, id, tok)
				}
			}
		}
	}
}

func TestWrongPurpose(t *testing.T) {
	s := newTestSigner(t, "0123456789abcdef0123456789abcdef")
	for _, signed := range purposes {
		tok := s.Token(signed, 42)
		for _, used := range purposes {
			if used == signed {
				continue
			}
			if _, err := s.Verify(used, tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("token for %v verified as %v: err = %v, want ErrInvalidToken", signed, used, err)
			}
		}
	}
}

func TestTampered(t *testing.T) {
	s := newTestSigner(t, "0123456789abcdef0123456789abcdef")
	tok := s.Token(Unsubscribe, 42)
	for i := range len(tok) {
		b := []byte(tok)
		b[i] = flip(b[i])
		if _, err := s.Verify(Unsubscribe, string(b)); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("token changed at %d verified: err = %v", i, err)
		}
	}
	bad := []string{"", tok[:TokenLen-1], tok + "A", strings.Repeat("=", TokenLen), tok[:TokenLen-2] + "+/"}
	for _, b := range bad {
		if _, err := s.Verify(Unsubscribe, b); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify(%q): err = %v, want ErrInvalidToken", b, err)
		}
	}
}

// flip changes a base64url character into a different one.
func flip(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

func TestWrongKey(t *testing.T) {
	a := newTestSigner(t, "0123456789abcdef0123456789abcdef")
	b := newTestSigner(t, "fedcba9876543210fedcba9876543210")
	for _, p := range purposes {
		if _, err := b.Verify(p, a.Token(p, 7)); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%v: token from another key: err = %v, want ErrInvalidToken", p, err)
		}
	}
}

func TestConfirmExpires(t *testing.T) {
	s := newTestSigner(t, "0123456789abcdef0123456789abcdef")
	issued := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return issued }
	confirm, unsub := s.Token(Confirm, 9), s.Token(Unsubscribe, 9)

	s.now = func() time.Time { return issued.Add(ConfirmTTL - time.Second) }
	if _, err := s.Verify(Confirm, confirm); err != nil {
		t.Fatalf("confirm token just inside TTL: %v", err)
	}
	s.now = func() time.Time { return issued.Add(ConfirmTTL + time.Second) }
	_, err := s.Verify(Confirm, confirm)
	if !errors.Is(err, ErrExpiredToken) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("confirm token past TTL: err = %v, want ErrExpiredToken wrapping ErrInvalidToken", err)
	}
	s.now = func() time.Time { return issued.Add(5 * 365 * 24 * time.Hour) }
	if _, err := s.Verify(Unsubscribe, unsub); err != nil {
		t.Fatalf("unsubscribe token five years on: %v", err)
	}
	s.now = func() time.Time { return issued.Add(-time.Hour) }
	if _, err := s.Verify(Confirm, confirm); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("confirm token issued an hour in the future: err = %v, want ErrExpiredToken", err)
	}
}

func TestPlaceholders(t *testing.T) {
	s := newTestSigner(t, "0123456789abcdef0123456789abcdef")
	seen := map[string]Purpose{}
	for _, p := range purposes {
		ph := Placeholder(p)
		if len(ph) != TokenLen || !urlSafe.MatchString(ph) {
			t.Errorf("Placeholder(%v) = %q: want %d characters of [A-Za-z0-9_-]", p, ph, TokenLen)
		}
		if other, dup := seen[ph]; dup {
			t.Errorf("Placeholder(%v) equals Placeholder(%v)", p, other)
		}
		seen[ph] = p
		if _, err := s.Verify(p, ph); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Placeholder(%v) verified as a token: err = %v", p, err)
		}
	}
}

func TestURLs(t *testing.T) {
	s := newTestSigner(t, "0123456789abcdef0123456789abcdef")
	cases := []struct {
		p   Purpose
		url string
	}{
		{Unsubscribe, s.UnsubscribeURL(5)},
		{Preferences, s.PreferencesURL(5)},
		{Confirm, s.ConfirmURL(5)},
	}
	for _, c := range cases {
		prefix := "https://mail.example/" + c.p.String() + "/"
		tok, ok := strings.CutPrefix(c.url, prefix)
		if !ok {
			t.Fatalf("%v URL %q does not start with %q", c.p, c.url, prefix)
		}
		if id, err := s.Verify(c.p, tok); err != nil || id != 5 {
			t.Errorf("%v URL token: id %d, err %v; want 5, nil", c.p, id, err)
		}
	}
	want := "https://mail.example/unsubscribe/" + Placeholder(Unsubscribe)
	if got := s.URL(Unsubscribe, Placeholder(Unsubscribe)); got != want {
		t.Errorf("URL with placeholder = %q, want %q", got, want)
	}
}

func TestNewSignerRefuses(t *testing.T) {
	key := []byte("0123456789abcdef")
	cases := []struct {
		base string
		key  []byte
	}{
		{"mail.example", key},
		{"ftp://mail.example", key},
		{"https://", key},
		{"https://mail.example/?a=b", key},
		{"https://mail.example", []byte("short")},
		{"https://mail.example", nil},
	}
	for _, c := range cases {
		if _, err := NewSigner(c.base, c.key, nil); err == nil {
			t.Errorf("NewSigner(%q, %d-byte key) succeeded, want an error", c.base, len(c.key))
		}
	}
	s, err := NewSigner("http://localhost:8080/mail", key, nil)
	if err != nil {
		t.Fatalf("NewSigner with a path: %v", err)
	}
	if got, want := s.URL(Confirm, "T"), "http://localhost:8080/mail/confirm/T"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}

// A StopSequence token rides the unsubscribe path but is a purpose of its
// own: an unsubscribe token for subscriber 7 never stops contact 7, nor the
// other way round, and the two placeholders differ.
func TestStopSequenceSharesThePathNotThePurpose(t *testing.T) {
	s, err := NewSigner("https://mail.example", []byte("0123456789abcdef"), nil)
	if err != nil {
		t.Fatal(err)
	}
	u := s.StopSequenceURL(7)
	tok := u[len("https://mail.example/unsubscribe/"):]
	if !strings.HasPrefix(u, "https://mail.example/unsubscribe/") || len(tok) != TokenLen {
		t.Fatalf("StopSequenceURL = %q", u)
	}
	if id, err := s.Verify(StopSequence, tok); err != nil || id != 7 {
		t.Fatalf("Verify(StopSequence) = %d, %v", id, err)
	}
	if _, err := s.Verify(Unsubscribe, tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a StopSequence token verified as Unsubscribe: %v", err)
	}
	if _, err := s.Verify(StopSequence, s.Token(Unsubscribe, 7)); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("an Unsubscribe token verified as StopSequence: %v", err)
	}
	if Placeholder(StopSequence) == Placeholder(Unsubscribe) {
		t.Error("StopSequence and Unsubscribe share a placeholder")
	}
}
