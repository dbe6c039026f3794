package booking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// mac is the HMAC-SHA256 of the concatenated parts with key.
func mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// hexEqual reports whether the hex string got decodes to want, comparing in
// constant time. Upper- and lower-case hex are both accepted.
func hexEqual(got string, want []byte) bool {
	sum, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	return hmac.Equal(sum, want)
}
