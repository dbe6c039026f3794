// Package links builds and verifies the signed tokens carried by unsubscribe,
// preferences and confirmation URLs.
//
// A token is 30 bytes, base64url-encoded without padding into TokenLen
// characters:
//
//	version(1) | purpose(1) | subscriber id(8, big-endian) | issued(4, unix seconds) | mac(16)
//
// The mac is HMAC-SHA256 over the first 14 bytes, truncated to 16 bytes. Every
// token has the same length whatever the id, purpose or time, so the mail path
// can substitute a recipient's token for a Placeholder in already-encoded bytes.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Purpose says what a token may be used for; a token signed for one purpose
// never verifies for another.
type Purpose byte

// The purposes a token can carry. Zero is deliberately not a purpose.
const (
	Unsubscribe Purpose = iota + 1
	Preferences
	Confirm
	// StopSequence stops a contact's sequences (store.StopContact): the
	// List-Unsubscribe link of sequence emails. Its id is a contact id,
	// not a subscriber id, and its URL path is "unsubscribe", so the one
	// /unsubscribe/{token} route serves both, trying each purpose.
	StopSequence
)

// String returns the purpose's name as used in URL paths.
func (p Purpose) String() string {
	switch p {
	case Unsubscribe:
		return "unsubscribe"
	case Preferences:
		return "preferences"
	case Confirm:
		return "confirm"
	case StopSequence:
		return "unsubscribe"
	}
	return fmt.Sprintf("Purpose(%d)", byte(p))
}

func (p Purpose) valid() bool { return p >= Unsubscribe && p <= StopSequence }

// TokenLen is the length in characters of every token and every Placeholder.
const TokenLen = 40

// MinKeyLen is the shortest key NewSigner accepts.
const MinKeyLen = 16

// ConfirmTTL is how long a confirmation token stays valid after it is issued.
// Unsubscribe and preferences tokens never expire: people click them from
// mail that is months or years old.
const ConfirmTTL = 7 * 24 * time.Hour

// clockSkew is how far in the future an issue time may be, to tolerate
// workers whose clocks disagree a little.
const clockSkew = 5 * time.Minute

const (
	version    = 1
	payloadLen = 1 + 1 + 8 + 4
	macLen     = 16
	rawLen     = payloadLen + macLen
)

// ErrInvalidToken is returned by Verify for any token that is malformed,
// tampered with, signed with another key or for another purpose.
var ErrInvalidToken = errors.New("links: invalid token")

// ErrExpiredToken is returned by Verify for a genuine confirmation token that
// is older than ConfirmTTL. It wraps ErrInvalidToken, so callers that do not
// care why a token failed need to check only ErrInvalidToken.
var ErrExpiredToken = fmt.Errorf("%w: expired", ErrInvalidToken)

var encoding = base64.RawURLEncoding.Strict()

// Signer issues and verifies tokens and builds the public URLs that carry them.
// It is safe for concurrent use.
type Signer struct {
	base string
	key  []byte
	now  func() time.Time
	macs *sync.Pool // of keyed HMAC-SHA256 hashes
}

// NewSigner returns a Signer whose URLs start with baseURL (an absolute http
// or https URL; a trailing slash is ignored) and whose tokens are keyed by
// key, which must be at least MinKeyLen bytes. now is the clock that dates
// and checks tokens: the process's one clock (store.DB.Now), or nil for
// time.Now.
func NewSigner(baseURL string, key []byte, now func() time.Time) (*Signer, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("links: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("links: base URL %q: want an absolute http or https URL", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("links: base URL %q: must not have a query or fragment", baseURL)
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("links: key is %d bytes, want at least %d", len(key), MinKeyLen)
	}
	k := append([]byte(nil), key...)
	if now == nil {
		now = time.Now
	}
	return &Signer{
		base: strings.TrimRight(baseURL, "/"),
		key:  k,
		now:  now,
		macs: &sync.Pool{New: func() any { return hmac.New(sha256.New, k) }},
	}, nil
}

// Token returns a token of exactly TokenLen URL-safe characters that lets the
// holder act on subscriberID for purpose p. It panics if p is not one of the
// declared purposes, which is a programming error.
func (s *Signer) Token(p Purpose, subscriberID int64) string {
	if !p.valid() {
		panic("links: Token called with " + p.String())
	}
	raw := make([]byte, payloadLen, rawLen)
	raw[0] = version
	raw[1] = byte(p)
	binary.BigEndian.PutUint64(raw[2:10], uint64(subscriberID))
	binary.BigEndian.PutUint32(raw[10:14], uint32(s.now().Unix()))
	raw = append(raw, s.mac(raw)...)
	return encoding.EncodeToString(raw)
}

// Verify checks a token for purpose p and returns the subscriber id it was
// issued for. Any failure is, or wraps, ErrInvalidToken.
func (s *Signer) Verify(p Purpose, token string) (subscriberID int64, err error) {
	if len(token) != TokenLen {
		return 0, ErrInvalidToken
	}
	raw, err := encoding.DecodeString(token)
	if err != nil || len(raw) != rawLen {
		return 0, ErrInvalidToken
	}
	payload, mac := raw[:payloadLen], raw[payloadLen:]
	// Compare the mac before looking at any field, so a forger learns nothing
	// from which check failed.
	if !hmac.Equal(mac, s.mac(payload)) {
		return 0, ErrInvalidToken
	}
	if payload[0] != version || Purpose(payload[1]) != p {
		return 0, ErrInvalidToken
	}
	if p == Confirm {
		issued := time.Unix(int64(binary.BigEndian.Uint32(payload[10:14])), 0)
		now := s.now()
		if issued.After(now.Add(clockSkew)) || now.Sub(issued) > ConfirmTTL {
			return 0, ErrExpiredToken
		}
	}
	return int64(binary.BigEndian.Uint64(payload[2:10])), nil
}

func (s *Signer) mac(payload []byte) []byte {
	// A keyed HMAC is reused: keying one costs two SHA-256 blocks, and the
	// mail path signs two tokens per message.
	h := s.macs.Get().(hash.Hash)
	defer s.macs.Put(h)
	h.Reset()
	h.Write(payload)
	var sum [sha256.Size]byte
	return h.Sum(sum[:0])[:macLen]
}
