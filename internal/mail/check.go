package mail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Check tries the way to the mail server that o describes, as a send goes:
// the pool's own dial (connect, greeting, EHLO, TLS as smtp.tls asks, AUTH),
// then MAIL FROM from, RSET and QUIT. No message is sent. It says what
// worked, or returns an error naming the step that failed, e.g. "TLS
// failed: … x509: certificate signed by unknown authority", labelled by
// the same classification the worker logs (SendError.Cause). With the
// outbox (no URL) it checks that the outbox directory can be written.
func Check(ctx context.Context, o Options, from string) (string, error) {
	o, u, err := o.validate()
	if err != nil {
		return "", err
	}
	if u == nil {
		return checkOutbox(o.OutboxDir)
	}
	o.Connections = 1
	p, err := newPool(u, o, nil)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cn := <-p.slots
	if err := p.dial(ctx, cn); err != nil {
		return "", connectFailure(err, u)
	}
	defer cn.quit(o.Timeout)
	done := []string{"connected to " + u.Host}
	if _, ok := cn.c.TLSConnectionState(); ok {
		done = append(done, "TLS")
	}
	if u.User != nil {
		done = append(done, "logged in as "+u.User.Username())
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = cn.nc.SetDeadline(deadline)
	}
	if err := cn.c.Mail(from); err != nil {
		return "", fmt.Errorf("MAIL FROM:<%s> refused: %w", from, err)
	}
	done = append(done, "MAIL FROM:<"+from+"> accepted (nothing sent)")
	_ = cn.c.Reset()
	return strings.Join(done, ", "), nil
}

// connectFailure names what failed in a dial, as SendError classifies it.
func connectFailure(err error, u *url.URL) error {
	var se *SendError
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case se.TLSFailed():
		return fmt.Errorf("TLS failed: %w", se.Err)
	case se.AuthFailed():
		return fmt.Errorf("login as %s failed: %w", u.User.Username(), se.Err)
	}
	return fmt.Errorf("cannot connect to %s: %w", u.Host, se.Err)
}

// checkOutbox makes sure the outbox directory exists and takes files.
func checkOutbox(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("outbox: %w", err)
	}
	f, err := os.CreateTemp(dir, ".check-*")
	if err != nil {
		return "", fmt.Errorf("outbox: %w", err)
	}
	f.Close()
	os.Remove(f.Name())
	return "no smtp.url: messages are written to the outbox at " + dir + " (nothing leaves this machine)", nil
}
