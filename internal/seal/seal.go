// Package seal encrypts small private texts at rest — an inquiry's message —
// with AES-256-GCM. It imports nothing of practicemail's, so that what it
// promises can be read in one file.
//
// A sealed value is
//
//	version (1 byte) | key id (4 bytes) | nonce (12 bytes) | ciphertext | tag (16 bytes)
//
// The nonce is random and fresh for every Seal: 2^32 seals under one key
// keep the chance of a repeated nonce below 2^-32, far more messages than a
// practice receives. The caller's associated data (the inquiry id) binds a
// sealed message to its row: copied into another row, it does not open.
// The version and key id are authenticated too.
//
// Rotation: configure the new key first and the old ones after it. The
// first key seals; every key opens, chosen by the key id in the sealed
// bytes. Once every message sealed under an old key has been resealed or
// deleted by retention, the old key can be dropped: with nothing resealed,
// that is inquiries.retention after the rotation. Current tells a value a
// reseal would change.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// version is the format of what Seal returns.
const version = 1

const (
	headerSize = 1 + 4
	nonceSize  = 12
	tagSize    = 16
	// Overhead is how many bytes Seal adds to a text.
	Overhead = headerSize + nonceSize + tagSize
)

// The errors Open returns. They say why a value did not open and never
// carry any of its bytes.
var (
	// ErrMalformed: too short, or a format version this package does not know.
	ErrMalformed = errors.New("seal: not a sealed value")
	// ErrUnknownKey: sealed under a key that is not configured (removed
	// after a rotation too early, or from another installation).
	ErrUnknownKey = errors.New("seal: sealed under a key that is not configured")
	// ErrOpen: the right key, but the value was changed or the associated
	// data is not the one it was sealed with.
	ErrOpen = errors.New("seal: cannot open: tampered with, or sealed for another record")
)

// Sealer seals with its first key and opens with any of its keys. It is
// safe for concurrent use.
type Sealer struct {
	current uint32
	keys    map[uint32]cipher.AEAD
}

// New returns a Sealer whose first key seals and whose every key opens.
// Each key must be KeySize bytes (`openssl rand -base64 32`, decoded). The
// error names the key by its position only, never by its bytes.
func New(keys ...[]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no key (make one with: openssl rand -base64 32)")
	}
	s := &Sealer{keys: make(map[uint32]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("seal: key %d is %d bytes, want %d (make one with: openssl rand -base64 32)", i+1, len(k), KeySize)
		}
		id := KeyID(k)
		if _, dup := s.keys[id]; dup {
			return nil, fmt.Errorf("seal: key %d is given twice (or its id %08x collides with an earlier key's)", i+1, id)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("seal: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("seal: key %d: %w", i+1, err)
		}
		s.keys[id] = aead
		if i == 0 {
			s.current = id
		}
	}
	return s, nil
}

// KeyID is the id a key is known by in sealed values: the first four bytes
// of a SHA-256 of the key. It tells keys apart and reveals nothing useful
// about them.
func KeyID(key []byte) uint32 {
	sum := sha256.Sum256(append([]byte("practicemail seal key id\x00"), key...))
	return binary.BigEndian.Uint32(sum[:4])
}

// Seal encrypts plain, binding it to ad (the id of the record it belongs
// to), under the first key, with a fresh random nonce: two seals of one
// text differ.
func (s *Sealer) Seal(plain, ad []byte) []byte {
	header := make([]byte, headerSize, headerSize+nonceSize+len(plain)+tagSize)
	header[0] = version
	binary.BigEndian.PutUint32(header[1:], s.current)
	// NewGCMWithRandomNonce draws the nonce and puts it before the ciphertext.
	return s.keys[s.current].Seal(header, nil, plain, associated(header, ad))
}

// Open decrypts what Seal returned for the same ad, with whichever
// configured key sealed it.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead || sealed[0] != version {
		return nil, ErrMalformed
	}
	aead, ok := s.keys[binary.BigEndian.Uint32(sealed[1:headerSize])]
	if !ok {
		return nil, ErrUnknownKey
	}
	plain, err := aead.Open(nil, nil, sealed[headerSize:], associated(sealed[:headerSize], ad))
	if err != nil {
		return nil, ErrOpen // the cipher's own error says no more, but ours is fixed
	}
	return plain, nil
}

// Current reports whether sealed was sealed under the first key: a value
// for which it is false still opens, and is what a rotation reseals.
func (s *Sealer) Current(sealed []byte) bool {
	return len(sealed) >= headerSize && sealed[0] == version &&
		binary.BigEndian.Uint32(sealed[1:headerSize]) == s.current
}

// associated is what GCM authenticates besides the text: the header, so
// that a value cannot be relabelled with another version or key id, and
// the caller's ad, length-prefixed so that no two (header, ad) pairs run
// together into the same bytes.
func associated(header, ad []byte) []byte {
	out := make([]byte, 0, len(header)+8+len(ad))
	out = append(out, header...)
	out = binary.BigEndian.AppendUint64(out, uint64(len(ad)))
	return append(out, ad...)
}
