package mail

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

func pemKey(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestDKIMSignedOverSMTP(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.Signer{"rsa": rsaKey, "ed25519": edKey} {
		t.Run(name, func(t *testing.T) {
			srv := mailtest.NewServer(t)
			s, err := Open(context.Background(), Options{URL: srv.URL, TLS: TLSNone,
				DKIM: &DKIMOptions{Domain: "stillpoint.example", Selector: "mail", PrivateKey: pemKey(t, key)}})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			msg := prepared(t)
			for i := range 3 {
				r := recipient(i)
				if err := s.Send(context.Background(), envelopeFrom, r.Address, msg, r); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			for _, m := range srv.Messages() {
				verifyDKIM(t, m.Data, key.Public())
			}
		})
	}
}

// verifyDKIM checks a relaxed/relaxed DKIM signature independently of
// go-mail: the body hash, the signed header list and the signature itself.
func verifyDKIM(t *testing.T, msg []byte, pub crypto.PublicKey) {
	t.Helper()
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	fields := headerFields(string(msg[:i+2]))
	body := msg[i+4:]
	sigField := fields[0]
	for _, line := range strings.Split(sigField, "\r\n") {
		if len(line) > 78 && !strings.HasPrefix(line, " h=") {
			t.Errorf("DKIM-Signature line of %d characters: %q", len(line), line)
		}
	}
	name, value, _ := strings.Cut(sigField, ":")
	if !strings.EqualFold(name, "DKIM-Signature") {
		t.Fatalf("first field is %q, want DKIM-Signature", name)
	}
	tags := parseTags(value)
	signed := strings.Split(strings.ToLower(tags["h"]), ":")
	for _, want := range []string{"from", "to", "subject", "message-id", "list-unsubscribe", "list-unsubscribe-post"} {
		if !slices.Contains(signed, want) {
			t.Errorf("h=%s lacks %s", tags["h"], want)
		}
	}
	bh := sha256.Sum256(relaxedBody(body))
	if got := base64.StdEncoding.EncodeToString(bh[:]); got != tags["bh"] {
		t.Fatalf("bh= %s, body hashes to %s", tags["bh"], got)
	}
	sig, err := base64.StdEncoding.DecodeString(tags["b"])
	if err != nil {
		t.Fatalf("b=: %v", err)
	}
	hash := sha256.Sum256([]byte(signedInput(fields, signed)))
	switch k := pub.(type) {
	case *rsa.PublicKey:
		err = rsa.VerifyPKCS1v15(k, crypto.SHA256, hash[:], sig)
	case ed25519.PublicKey:
		if !ed25519.Verify(k, hash[:], sig) {
			err = errSig
		}
	}
	if err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

func parseTags(value string) map[string]string {
	tags := map[string]string{}
	for _, tag := range strings.Split(value, ";") {
		k, v, _ := strings.Cut(tag, "=")
		tags[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
	}
	return tags
}

// signedInput is what the signature covers: the signed fields, then the
// DKIM-Signature field (fields[0]) with an empty b=.
func signedInput(fields, signed []string) string {
	var in strings.Builder
	for _, h := range signed {
		for k := len(fields) - 1; k > 0; k-- { // the last instance of each field
			if n, _, _ := strings.Cut(fields[k], ":"); strings.EqualFold(strings.TrimSpace(n), h) {
				in.WriteString(relaxedHeader(fields[k]) + "\r\n")
				break
			}
		}
	}
	emptied := regexp.MustCompile(`(b=)[^;]*$`).ReplaceAllString(fields[0], "$1")
	in.WriteString(relaxedHeader(emptied))
	return in.String()
}

var errSig = bytesError("bad signature")

type bytesError string

func (e bytesError) Error() string { return string(e) }

// headerFields splits a header block into fields, continuation lines kept.
func headerFields(block string) []string {
	var fields []string
	for _, line := range strings.SplitAfter(block, "\r\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += line
			continue
		}
		fields = append(fields, line)
	}
	for i := range fields {
		fields[i] = strings.TrimSuffix(fields[i], "\r\n")
	}
	return fields
}

// relaxedHeader is RFC 6376 3.4.2.
func relaxedHeader(field string) string {
	name, value, _ := strings.Cut(field, ":")
	value = strings.NewReplacer("\r\n", "").Replace(value)
	value = strings.Join(strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
	return strings.ToLower(strings.TrimSpace(name)) + ":" + value
}

// relaxedBody is RFC 6376 3.4.4.
func relaxedBody(body []byte) []byte {
	lines := strings.Split(string(body), "\r\n")
	for i, l := range lines {
		l = regexp.MustCompile(`[ \t]+`).ReplaceAllString(l, " ")
		lines[i] = strings.TrimRight(l, " ")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}
