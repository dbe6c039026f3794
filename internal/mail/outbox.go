package mail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Outbox writes each message as an .eml file instead of sending it: the
// development default, so that nothing leaves the machine.
type Outbox struct {
	dir     string
	sign    *signer
	limiter *Limiter
}

func newOutbox(dir string, sign *signer, limiter *Limiter) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Outbox{dir: dir, sign: sign, limiter: limiter}, nil
}

// Send implements Sender.
func (o *Outbox) Send(ctx context.Context, from, to string, msg *Prepared, r Recipient) error {
	_, err := o.SendReply(ctx, from, to, msg, r, nil)
	return err
}

// SendReply implements Sender; the reply is the path of the file written,
// <dir>/<UTC time>-<message id>.eml. The file appears whole or not at all.
func (o *Outbox) SendReply(ctx context.Context, from, to string, msg *Prepared, r Recipient, gate Gate) (string, error) {
	if err := checkEnvelope(from, to); err != nil {
		return "", err
	}
	data, err := o.message(msg, r)
	if err != nil {
		return "", err
	}
	if err := o.limiter.Wait(ctx); err != nil {
		return "", &SendError{Stage: "wait", Temporary: true, Err: err}
	}
	if gate != nil {
		if err := gate(ctx); err != nil {
			return "", err
		}
	}
	name := time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + fileSafe(r.MessageID) + ".eml"
	path := filepath.Join(o.dir, name)
	if err := writeFileAtomic(path, data); err != nil {
		return "", &SendError{Stage: "data", Temporary: true, Err: fmt.Errorf("outbox: %w", err)}
	}
	return path, nil
}

// message is the message for r as a mail client reads it from a file: as
// AppendTo writes it, signed when a DKIM key is set. Not the SMTP DATA
// content the pool writes, whose lines that start with a dot are doubled
// and which ends with a line holding only a dot.
func (o *Outbox) message(msg *Prepared, r Recipient) ([]byte, error) {
	body, err := msg.AppendTo(nil, r)
	if err != nil || o.sign == nil {
		return body, err
	}
	h, err := o.sign.header(body)
	if err != nil {
		return nil, err
	}
	return append([]byte(h), body...), nil
}

// Close implements Sender; the outbox holds nothing open.
func (o *Outbox) Close() error { return nil }

// writeFileAtomic writes data to a temporary file in the same directory and
// renames it into place.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.eml")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(f.Name())
	}
	return werr
}

// fileSafe keeps a message id usable as part of a file name.
func fileSafe(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == 0 {
			return '_'
		}
		return r
	}, id)
}
