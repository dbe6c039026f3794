// Package mail composes practicemail's messages with go-mail and delivers
// them: over a pool of persistent SMTP connections, or into an outbox
// directory of .eml files in development.
//
// A message that goes to many recipients is encoded once (Prepare); each
// recipient's copy is then produced by substituting fixed-length placeholder
// strings and writing the recipient's own To, Message-ID and Date headers
// (Prepared.AppendTo), which is cheap enough for the send loop.
package mail

import (
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"
	"sync"
	"time"
)

// Content is what all recipients of one email share.
type Content struct {
	// From and ReplyTo are addresses, optionally with a display name:
	// "Name <addr>". ReplyTo may be empty.
	From, ReplyTo string
	Subject       string
	// HTML and Text are the two bodies. Either may contain placeholder
	// strings that each recipient's values replace.
	HTML, Text string
	// Headers are extra header fields, such as List-Unsubscribe and
	// List-Unsubscribe-Post. Values may contain placeholders. Fields that
	// Prepare writes itself (From, To, Subject, Date, Message-ID, MIME and
	// Content fields) are refused.
	Headers map[string]string
	// MessageIDDomain is the right-hand side of every Message-ID; empty means
	// the domain of From.
	MessageIDDomain string
}

// Recipient is one person a Prepared message goes to.
type Recipient struct {
	Address string
	Name    string
	// MessageID is the left-hand side of the Message-ID, chosen by the
	// caller so that it is stable across retries (e.g. "d123.p45" becomes
	// <d123.p45@domain>).
	MessageID string
	// Values replace the placeholders given to Prepare: the same number, in
	// the same order, each exactly as long as its placeholder and made of
	// [A-Za-z0-9_-].
	Values []string
}

// Prepared is a Content encoded once, ready to be written for any number of
// recipients. It is safe for concurrent use.
type Prepared struct {
	tmpl         []byte // encoded header fields (without Date, Message-ID, To), blank line, body
	subs         []sub  // where values go in tmpl, by increasing offset
	data         []byte // tmpl as SMTP DATA content: dot-stuffed and terminated
	dataSubs     []sub  // subs at their offsets in data
	placeholders []string
	domain       string
	now          func() time.Time
}

// sub is one run of placeholder characters in tmpl. A placeholder split by a
// quoted-printable soft line break is two runs.
type sub struct {
	off      int // offset in tmpl
	ph       int // index into placeholders
	from, to int // the placeholder's characters this run holds
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// WriteTo writes the complete message for r to w. The output equals, as a
// parsed message, what go-mail produces for the same content and recipient.
func (p *Prepared) WriteTo(w io.Writer, r Recipient) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b, err := p.AppendTo((*bp)[:0], r)
	if err != nil {
		return 0, err
	}
	*bp = b
	n, err := w.Write(b)
	return int64(n), err
}

// AppendTo appends the complete message for r to dst and returns the
// extended slice. It allocates only for the To header.
func (p *Prepared) AppendTo(dst []byte, r Recipient) ([]byte, error) {
	return p.appendWith(dst, r, p.tmpl, p.subs)
}

// AppendData appends the message for r as the content of an SMTP DATA
// command: what AppendTo writes, with a '.' that starts a line doubled and
// the terminating ".\r\n". The stuffing was done once, by Prepare: the
// per-recipient header lines start with a field name or a space and the
// values contain no dots, so neither can start a line with one.
func (p *Prepared) AppendData(dst []byte, r Recipient) ([]byte, error) {
	return p.appendWith(dst, r, p.data, p.dataSubs)
}

func (p *Prepared) appendWith(dst []byte, r Recipient, tmpl []byte, subs []sub) ([]byte, error) {
	if err := p.check(r); err != nil {
		return dst, err
	}
	dst = append(dst, "Date: "...)
	dst = p.now().AppendFormat(dst, time.RFC1123Z)
	dst = append(dst, "\r\nMessage-ID: "...)
	dst = p.appendMessageID(dst, r)
	dst = append(dst, "\r\n"...)
	to := (&netmail.Address{Name: r.Name, Address: r.Address}).String()
	dst = appendHeader(dst, "To", to)
	prev := 0
	for _, s := range subs {
		dst = append(dst, tmpl[prev:s.off]...)
		dst = append(dst, r.Values[s.ph][s.from:s.to]...)
		prev = s.off + s.to - s.from
	}
	return append(dst, tmpl[prev:]...), nil
}

// MessageID returns the Message-ID field's value that p writes for r,
// angle brackets included: what the recipient's mail client sees, and what
// the caller keeps to recognise the message. Only the mail package builds it.
func (p *Prepared) MessageID(r Recipient) string { return string(p.appendMessageID(nil, r)) }

func (p *Prepared) appendMessageID(dst []byte, r Recipient) []byte {
	dst = append(dst, '<')
	dst = append(dst, r.MessageID...)
	dst = append(dst, '@')
	dst = append(dst, p.domain...)
	return append(dst, '>')
}

// Placeholders returns the placeholders p was prepared with.
func (p *Prepared) Placeholders() []string { return append([]string(nil), p.placeholders...) }

// check refuses a recipient whose fields could break the message's syntax.
func (p *Prepared) check(r Recipient) error {
	if len(r.Values) != len(p.placeholders) {
		return fmt.Errorf("recipient has %d values for %d placeholders", len(r.Values), len(p.placeholders))
	}
	for i, v := range r.Values {
		if len(v) != len(p.placeholders[i]) || !isToken(v) {
			return fmt.Errorf("value %d: want %d characters of [A-Za-z0-9_-]", i, len(p.placeholders[i]))
		}
	}
	if err := checkAddress(r.Address); err != nil {
		return err
	}
	if strings.ContainsFunc(r.Name, isControl) {
		return errors.New("recipient name contains control characters")
	}
	if r.MessageID == "" || strings.ContainsFunc(r.MessageID, badIDRune) {
		return fmt.Errorf("invalid message id %q", r.MessageID)
	}
	return nil
}

// checkAddress refuses addresses that could inject commands or header
// fields; full syntax checking is the server's job.
func checkAddress(a string) error {
	if a == "" || !strings.Contains(a, "@") || strings.ContainsFunc(a, func(r rune) bool {
		return isControl(r) || r == ' ' || r == '<' || r == '>'
	}) {
		return fmt.Errorf("invalid address %q", a)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func badIDRune(r rune) bool {
	return r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == '@' || r == '"' || r == '\\'
}

// isToken reports whether s is made only of characters that quoted-printable
// and header folding leave alone.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

// appendHeader appends "key: value" folded exactly as go-mail's msgWriter
// folds it: at spaces, so that no line passes 76 characters where a break is
// possible.
func appendHeader(dst []byte, key, value string) []byte {
	const maxLen = 76
	dst = append(dst, key...)
	dst = append(dst, ": "...)
	left := maxLen - 2 - len(key) - 2
	for {
		word, rest, more := strings.Cut(value, " ")
		if left-len(word) <= 1 {
			if dst[len(dst)-1] == ' ' {
				dst = dst[:len(dst)-1]
			}
			dst = append(dst, "\r\n "...)
			left = maxLen - 3
		}
		dst = append(dst, word...)
		left -= len(word)
		if !more {
			break
		}
		dst = append(dst, ' ')
		left--
		value = rest
	}
	return append(dst, "\r\n"...)
}
