package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/practicemail/practicemail/internal/store"
)

// maxWebhookBody caps a webhook's body: a bounce is a few hundred bytes.
// The server's own cap on every body (maxBody) is lower still, and applies
// first.
const maxWebhookBody = 64 << 10

// signaturePrefix starts the X-Signature header: the hash named, then the
// hex HMAC of the raw body.
const signaturePrefix = "sha256="

// bounceReport is the webhook's body.
type bounceReport struct {
	Email  string `json:"email"`
	Type   string `json:"type"` // hard, soft or complaint
	Reason string `json:"reason"`
}

// bounceWebhook takes a bounce or complaint from a sending service or a
// script (POST /webhooks/bounce): JSON {email, type, reason}, signed with
// X-Signature: sha256=<hex HMAC-SHA256 of the raw body with
// secrets.webhook_key>. Without a key configured the route does not exist
// (404): an unsigned door would let anyone suppress anyone. The signature
// is checked before the body is parsed, in constant time. A bounce about
// nobody on the list is answered 200 with matched false, so a sender
// retries nothing. The address is never logged.
func (s *Server) bounceWebhook(w http.ResponseWriter, r *http.Request) {
	if len(s.WebhookKey) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	body, ok := readWebhookBody(w, r)
	if !ok {
		return
	}
	if !validSignature(r.Header.Get("X-Signature"), body, s.WebhookKey) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong X-Signature"})
		return
	}
	in, problem := parseBounceReport(body)
	if problem != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": problem})
		return
	}
	res, err := s.DB.RecordBounce(r.Context(), store.Bounce{Email: in.Email, Type: in.Type, Reason: in.Reason, Source: "webhook"})
	if err != nil {
		s.logger().Error("bounce_webhook_failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not record the bounce"})
		return
	}
	s.logger().Info("bounce_webhook", "type", in.Type, "matched", res.Matched, "suppressed", res.Suppressed,
		"subscriber_id", res.SubscriberID)
	writeJSON(w, http.StatusOK, map[string]bool{"matched": res.Matched, "suppressed": res.Suppressed})
}

// validSignature reports whether header is "sha256=" and the hex HMAC-SHA256
// of body with key, compared in constant time.
func validSignature(header string, body, key []byte) bool {
	got, ok := strings.CutPrefix(strings.TrimSpace(header), signaturePrefix)
	if !ok {
		return false
	}
	sum, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hmac.Equal(sum, m.Sum(nil))
}

// parseBounceReport reads the body, or says what is wrong with it: one JSON
// object with string fields, an address and a known type.
func parseBounceReport(body []byte) (bounceReport, string) {
	var in bounceReport
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil {
		return in, "want one JSON object {email, type, reason} with string values"
	}
	if dec.More() {
		return in, "want one JSON object, nothing after it"
	}
	if _, err := store.NormalizeEmail(in.Email); err != nil {
		return in, "email: not an email address"
	}
	switch in.Type {
	case store.BounceHard, store.BounceSoft, store.BounceComplaint:
	default:
		return in, "type: want hard, soft or complaint"
	}
	return in, ""
}

// readWebhookBody reads a webhook's raw body (signatures are over its
// exact bytes), up to maxWebhookBody; otherwise it answers 413 or 400 and
// returns false.
func readWebhookBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
			return nil, false
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "could not read the body"})
		return nil, false
	}
	return body, true
}
