package mail

import (
	"bytes"
	"errors"
	"fmt"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// reservedHeaders are written by Prepare or per recipient; Content.Headers
// may not set them.
var reservedHeaders = []string{
	"from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id",
	"mime-version", "content-type", "content-transfer-encoding", "dkim-signature",
}

// Prepare encodes c once with go-mail (quoted-printable, UTF-8, text and HTML
// as multipart/alternative) and records where each placeholder occurs, so
// that AppendTo only copies bytes. Placeholders must be distinct, non-empty
// strings of [A-Za-z0-9_-], none containing another; they may appear in
// c.Text, c.HTML and the values of c.Headers.
func Prepare(c Content, placeholders []string) (*Prepared, error) {
	if err := checkPlaceholders(placeholders); err != nil {
		return nil, err
	}
	domain, err := messageIDDomain(c)
	if err != nil {
		return nil, err
	}
	raw, err := encode(c)
	if err != nil {
		return nil, err
	}
	tmpl := dropFields(raw, "date", "message-id")
	subs, err := locate(tmpl, placeholders, c)
	if err != nil {
		return nil, err
	}
	data, dataSubs := stuffTemplate(tmpl, subs)
	return &Prepared{tmpl: tmpl, subs: subs, data: data, dataSubs: dataSubs,
		placeholders: slices.Clone(placeholders), domain: domain, now: time.Now}, nil
}

// stuffTemplate returns tmpl as SMTP DATA content (appendDotStuffed) and
// subs moved to their offsets in it.
func stuffTemplate(tmpl []byte, subs []sub) ([]byte, []sub) {
	// tmpl follows the per-recipient header lines, which end in CRLF: with
	// a line break in front, a dot at its very start is stuffed too.
	nl := append([]byte("\n"), tmpl...)
	data := appendDotStuffed(nil, nl)[1:]
	moved := make([]sub, len(subs))
	for i, s := range subs {
		// Placeholders contain no dots, so none is inserted inside one.
		s.off += bytes.Count(nl[:s.off+1], []byte("\n."))
		moved[i] = s
	}
	return data, moved
}

// appendDotStuffed appends msg to dst as SMTP DATA content: a '.' that
// starts a line is doubled, the content ends in CRLF, and the terminating
// ".\r\n" follows.
func appendDotStuffed(dst, msg []byte) []byte {
	endsCRLF := bytes.HasSuffix(msg, []byte("\r\n"))
	if len(msg) > 0 && msg[0] == '.' {
		dst = append(dst, '.')
	}
	for {
		i := bytes.Index(msg, []byte("\n."))
		if i < 0 {
			break
		}
		dst = append(dst, msg[:i+2]...)
		dst = append(dst, '.')
		msg = msg[i+2:]
	}
	dst = append(dst, msg...)
	if !endsCRLF {
		dst = append(dst, "\r\n"...)
	}
	return append(dst, ".\r\n"...)
}

func checkPlaceholders(phs []string) error {
	for i, ph := range phs {
		if !isToken(ph) {
			return fmt.Errorf("placeholder %q: want [A-Za-z0-9_-]+", ph)
		}
		for j, other := range phs {
			if i != j && strings.Contains(other, ph) {
				return fmt.Errorf("placeholder %q is contained in %q", ph, other)
			}
		}
	}
	return nil
}

func messageIDDomain(c Content) (string, error) {
	d := c.MessageIDDomain
	if d == "" {
		from, err := netmail.ParseAddress(c.From)
		if err != nil {
			return "", fmt.Errorf("parse from: %w", err)
		}
		_, d, _ = strings.Cut(from.Address, "@")
	}
	if d == "" || strings.ContainsFunc(d, badIDRune) {
		return "", fmt.Errorf("invalid message id domain %q", d)
	}
	return d, nil
}

// encode renders c with go-mail, with no To header and throwaway Date and
// Message-ID fields.
func encode(c Content) ([]byte, error) {
	if c.Text == "" && c.HTML == "" {
		return nil, errors.New("content has neither text nor html")
	}
	// No User-Agent or X-Mailer: go-mail would name itself and its version,
	// which tells a reader nothing and tells a spam filter what sent it.
	m := gomail.NewMsg(gomail.WithEncoding(gomail.EncodingQP), gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithNoDefaultUserAgent())
	if err := m.From(c.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if c.ReplyTo != "" {
		if err := m.ReplyTo(c.ReplyTo); err != nil {
			return nil, fmt.Errorf("reply-to: %w", err)
		}
	}
	m.Subject(c.Subject)
	for k, v := range c.Headers {
		if slices.Contains(reservedHeaders, strings.ToLower(k)) || !validFieldName(k) {
			return nil, fmt.Errorf("header %q may not be set", k)
		}
		if strings.ContainsFunc(v, isControl) {
			return nil, fmt.Errorf("header %q: value contains control characters", k)
		}
		m.SetGenHeader(gomail.Header(k), v)
	}
	switch {
	case c.Text == "":
		m.SetBodyString(gomail.TypeTextHTML, c.HTML)
	case c.HTML == "":
		m.SetBodyString(gomail.TypeTextPlain, c.Text)
	default:
		m.SetBodyString(gomail.TypeTextPlain, c.Text)
		m.AddAlternativeString(gomail.TypeTextHTML, c.HTML)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return buf.Bytes(), nil
}

func validFieldName(k string) bool {
	return k != "" && !strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == ':' })
}

// dropFields removes the named header fields (lower case), with their
// continuation lines, from the header block of msg.
func dropFields(msg []byte, names ...string) []byte {
	out := make([]byte, 0, len(msg))
	dropping := false
	for len(msg) > 0 {
		line := msg
		if i := bytes.Index(msg, []byte("\r\n")); i >= 0 {
			line = msg[:i+2]
		}
		if len(line) == 2 { // the blank line: the rest is body
			return append(out, msg...)
		}
		if line[0] != ' ' && line[0] != '\t' {
			name, _, _ := bytes.Cut(line, []byte(":"))
			dropping = slices.Contains(names, strings.ToLower(string(name)))
		}
		if !dropping {
			out = append(out, line...)
		}
		msg = msg[len(line):]
	}
	return out
}
