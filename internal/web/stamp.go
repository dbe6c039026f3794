package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// minFillTime is the least time a person takes to fill in the hosted form:
// a submission sooner than this after the form was served is a bot's.
const minFillTime = 2 * time.Second

// stamp returns the signed time at which the hosted form is served, "" when
// there is no FormKey to sign with.
func (s *Server) stamp() string {
	if len(s.FormKey) == 0 {
		return ""
	}
	ts := strconv.FormatInt(s.now().UnixMilli(), 10)
	return ts + "." + s.stampMAC(ts)
}

func (s *Server) stampMAC(ts string) string {
	m := hmac.New(sha256.New, s.FormKey)
	m.Write([]byte("practicemail form stamp\x00" + ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// stampSaysBot reports whether the stamp a form came back with shows a bot:
// forged, or submitted less than minFillTime after the form was served. A
// form without a stamp (a snippet pasted on the practice's site, a JSON
// client) is judged by the honeypot and the rate limits alone.
func (s *Server) stampSaysBot(v string) bool {
	if v == "" || len(s.FormKey) == 0 {
		return false
	}
	ts, mac, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(s.stampMAC(ts))) {
		return true
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return true
	}
	return s.now().Sub(time.UnixMilli(ms)) < minFillTime
}
