package seal_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/seal"
)

// secret is a text whose words no error or sealed value may ever carry.
const secret = "I keep thinking about the lighthouse on Vashon Island"

func key(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, seal.KeySize)
	rand.Read(k)
	return k
}

func newSealer(t *testing.T, keys ...[]byte) *seal.Sealer {
	t.Helper()
	s, err := seal.New(keys...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := newSealer(t, key(t))
	for _, plain := range []string{"", "x", secret, strings.Repeat("long message ", 1000)} {
		sealed := s.Seal([]byte(plain), []byte("42"))
		if len(sealed) != len(plain)+seal.Overhead {
			t.Errorf("sealed %d bytes into %d, want %d", len(plain), len(sealed), len(plain)+seal.Overhead)
		}
		if len(plain) > 8 && bytes.Contains(sealed, []byte(plain)) {
			t.Errorf("the sealed value contains the text")
		}
		got, err := s.Open(sealed, []byte("42"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if string(got) != plain {
			t.Errorf("Open = %q, want %q", got, plain)
		}
		if !s.Current(sealed) {
			t.Errorf("Current = false for a value just sealed")
		}
	}
}

func TestTwoSealsDiffer(t *testing.T) {
	s := newSealer(t, key(t))
	a, b := s.Seal([]byte(secret), []byte("1")), s.Seal([]byte(secret), []byte("1"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one text are equal: the nonce is not fresh")
	}
	if bytes.Equal(a[5:17], b[5:17]) {
		t.Fatal("two seals share a nonce")
	}
}

// TestRefused covers every way a value must not open; each error is one of
// the sentinels and carries none of the text.
func TestRefused(t *testing.T) {
	s := newSealer(t, key(t))
	sealed := s.Seal([]byte(secret), []byte("7"))
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		sealed []byte
		ad     string
		want   error
	}{
		{"wrong associated data", sealed, "8", seal.ErrOpen},
		{"no associated data", sealed, "", seal.ErrOpen},
		{"tampered ciphertext", flip(len(sealed) / 2), "7", seal.ErrOpen},
		{"tampered tag", flip(len(sealed) - 1), "7", seal.ErrOpen},
		{"tampered nonce", flip(6), "7", seal.ErrOpen},
		{"tampered key id", flip(2), "7", seal.ErrUnknownKey},
		{"unknown version", flip(0), "7", seal.ErrMalformed},
		{"truncated", sealed[:seal.Overhead-1], "7", seal.ErrMalformed},
		{"empty", nil, "7", seal.ErrMalformed},
		{"sealed under another key", newSealer(t, key(t)).Seal([]byte(secret), []byte("7")), "7", seal.ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Open(tt.sealed, []byte(tt.ad))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open error = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("Open returned %d bytes with its error", len(got))
			}
			for _, word := range strings.Fields(secret) {
				if len(word) > 3 && strings.Contains(err.Error(), word) {
					t.Errorf("error %q contains %q from the text", err, word)
				}
			}
		})
	}
}

func TestRotation(t *testing.T) {
	old, fresh := key(t), key(t)
	before := newSealer(t, old)
	sealedOld := before.Seal([]byte(secret), []byte("3"))

	after := newSealer(t, fresh, old)
	got, err := after.Open(sealedOld, []byte("3"))
	if err != nil || string(got) != secret {
		t.Fatalf("after rotation, the old value opens to %q, %v; want the text", got, err)
	}
	if after.Current(sealedOld) {
		t.Error("Current = true for a value sealed under the previous key")
	}
	sealedNew := after.Seal([]byte(secret), []byte("3"))
	if !after.Current(sealedNew) {
		t.Error("the rotated sealer does not seal with its first key")
	}
	if _, err := before.Open(sealedNew, []byte("3")); !errors.Is(err, seal.ErrUnknownKey) {
		t.Errorf("the old sealer opened a value sealed under the new key: %v", err)
	}
	dropped := newSealer(t, fresh)
	if _, err := dropped.Open(sealedOld, []byte("3")); !errors.Is(err, seal.ErrUnknownKey) {
		t.Errorf("with the old key dropped, Open error = %v, want ErrUnknownKey", err)
	}
}

func TestNewRefuses(t *testing.T) {
	k := key(t)
	tests := []struct {
		name string
		keys [][]byte
		want string
	}{
		{"no key", nil, "no key"},
		{"short key", [][]byte{k[:16]}, "key 1 is 16 bytes, want 32"},
		{"long key", [][]byte{k, append(bytes.Clone(k), 0)}, "key 2 is 33 bytes, want 32"},
		{"empty key", [][]byte{{}}, "key 1 is 0 bytes"},
		{"the same key twice", [][]byte{k, k}, "key 2 is given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := seal.New(tt.keys...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.want)
			}
			if len(tt.keys) > 0 && len(tt.keys[0]) > 4 && strings.Contains(err.Error(), string(tt.keys[0])) {
				t.Errorf("error %q contains the key", err)
			}
		})
	}
}

func TestKeyIDTellsKeysApart(t *testing.T) {
	a, b := key(t), key(t)
	if seal.KeyID(a) == seal.KeyID(b) {
		t.Fatal("two random keys have one id")
	}
	if seal.KeyID(a) != seal.KeyID(bytes.Clone(a)) {
		t.Fatal("one key has two ids")
	}
}
