package mailtest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// Parsed is a message taken apart the way a mail client would.
type Parsed struct {
	Header mail.Header
	// ContentType is the media type of the top-level body, e.g.
	// "multipart/alternative".
	ContentType string
	// TextPart and HTMLPart are the decoded text/plain and text/html bodies
	// (the first of each found anywhere in the MIME tree); line endings stay
	// CRLF as sent.
	TextPart string
	HTMLPart string
}

// Parse parses a complete RFC 5322 message, decoding multipart bodies and
// quoted-printable or base64 transfer encodings. It fails the test if the
// message is malformed.
func Parse(t testing.TB, data []byte) Parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("mailtest: parse message: %v", err)
	}
	p := Parsed{Header: m.Header}
	mt, params, err := mime.ParseMediaType(headerOr(m.Header.Get("Content-Type"), "text/plain"))
	if err != nil {
		t.Fatalf("mailtest: parse Content-Type: %v", err)
	}
	p.ContentType = mt
	if err := p.walk(mt, params, m.Header.Get("Content-Transfer-Encoding"), m.Body); err != nil {
		t.Fatalf("mailtest: parse body: %v", err)
	}
	return p
}

// walk decodes one MIME entity, recursing into multipart ones.
func (p *Parsed) walk(mt string, params map[string]string, cte string, body io.Reader) error {
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			pmt, pparams, err := mime.ParseMediaType(headerOr(part.Header.Get("Content-Type"), "text/plain"))
			if err != nil {
				return err
			}
			if err := p.walk(pmt, pparams, part.Header.Get("Content-Transfer-Encoding"), part); err != nil {
				return err
			}
		}
	}
	text, err := decode(cte, body)
	if err != nil {
		return err
	}
	switch {
	case mt == "text/plain" && p.TextPart == "":
		p.TextPart = text
	case mt == "text/html" && p.HTMLPart == "":
		p.HTMLPart = text
	}
	return nil
}

// decode undoes a Content-Transfer-Encoding.
func decode(cte string, r io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &newlineSkipper{r: r})
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// newlineSkipper drops CR and LF, which base64 bodies wrap with.
type newlineSkipper struct{ r io.Reader }

func (n *newlineSkipper) Read(p []byte) (int, error) {
	c, err := n.r.Read(p)
	out := p[:0]
	for _, b := range p[:c] {
		if b != '\r' && b != '\n' {
			out = append(out, b)
		}
	}
	return len(out), err
}

func headerOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
