package bounce

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// part is one body part of a report, decoded.
type part struct {
	mediaType string
	body      []byte
}

// readParts reads the parts of a multipart body, undoing their transfer
// encodings.
func readParts(body io.Reader, boundary string) ([]part, error) {
	mr := multipart.NewReader(body, boundary)
	var out []part
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read report part %d: %w", len(out)+1, err)
		}
		mt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			mt = "text/plain" // RFC 2045's default
		}
		var r io.Reader = p
		switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, newlineStripper{p})
		case "quoted-printable":
			r = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("read report part %d (%s): %w", len(out)+1, mt, err)
		}
		out = append(out, part{mediaType: strings.ToLower(mt), body: b})
	}
	if len(out) == 0 {
		return nil, errors.New("multipart/report with no parts")
	}
	return out, nil
}

// newlineStripper drops CR and LF, which base64 lines carry.
type newlineStripper struct{ r io.Reader }

func (s newlineStripper) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	j := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}

// fieldBlocks reads a delivery-status or feedback-report body: groups of
// header-style fields separated by blank lines.
func fieldBlocks(body []byte) ([]textproto.MIMEHeader, error) {
	body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	var out []textproto.MIMEHeader
	for _, block := range strings.Split(string(body), "\n\n") {
		block = strings.Trim(block, "\n")
		if strings.TrimSpace(block) == "" {
			continue
		}
		h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(block + "\n\n"))).ReadMIMEHeader()
		if err != nil {
			return nil, fmt.Errorf("read report fields: %w", err)
		}
		out = append(out, h)
	}
	return out, nil
}

// original reads the returned original's headers (message/rfc822 or
// text/rfc822-headers), if the report carries them.
func original(parts []part) mail.Header {
	for _, p := range parts {
		switch p.mediaType {
		case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers":
			b := p.body
			if !bytes.Contains(b, []byte("\n\n")) && !bytes.Contains(b, []byte("\r\n\r\n")) {
				b = append(append([]byte(nil), b...), "\n\n"...) // headers alone
			}
			if m, err := mail.ReadMessage(bytes.NewReader(b)); err == nil {
				return m.Header
			}
		}
	}
	return nil
}

// annotate sets the original's Message-ID and X- headers on every report.
func annotate(reports []Report, h mail.Header) {
	if h == nil {
		return
	}
	id := strings.TrimSpace(h.Get("Message-ID"))
	var xs map[string]string
	for k, v := range h {
		if strings.HasPrefix(k, "X-") && len(v) > 0 {
			if xs == nil {
				xs = map[string]string{}
			}
			xs[k] = strings.TrimSpace(v[0])
		}
	}
	for i := range reports {
		reports[i].MessageID, reports[i].Headers = id, xs
	}
}

// address returns the bare, lower-cased address of a recipient field
// ("rfc822; user@example.com"), or "" if it has none.
func address(field string) string {
	if typ, v, ok := strings.Cut(field, ";"); ok {
		if t := strings.ToLower(strings.TrimSpace(typ)); t != "rfc822" && t != "utf-8" {
			return ""
		}
		field = v
	}
	field = strings.TrimSpace(field)
	if a, err := mail.ParseAddress(field); err == nil {
		field = a.Address
	}
	field = strings.Trim(field, "<>")
	if !strings.Contains(field, "@") || strings.ContainsAny(field, " \t") {
		return ""
	}
	return strings.ToLower(field)
}
