package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// Check tries the way to the mail server that o describes, step by step as
// a send would go: connect, greeting, EHLO, TLS (as smtp.tls asks), AUTH,
// and MAIL FROM from; then RSET and QUIT. No message is sent. It says what
// worked, or returns an error naming the step that failed, e.g. "TLS
// handshake failed: x509: certificate signed by unknown authority". With
// the outbox (no URL) it checks that the outbox directory can be written.
func Check(ctx context.Context, o Options, from string) (string, error) {
	o, u, err := o.validate()
	if err != nil {
		return "", err
	}
	if u == nil {
		return checkOutbox(o.OutboxDir)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	c, addr, err := checkDial(ctx, u, o)
	if err != nil {
		return "", err
	}
	defer c.Close()
	done := []string{"connected to " + addr}
	secure := u.Scheme == "smtps"
	if !secure && o.TLS != TLSNone {
		if secure, err = checkStartTLS(c, u, o); err != nil {
			return "", err
		}
	}
	if secure {
		done = append(done, "TLS")
	}
	if u.User != nil {
		if err := checkAuth(c, u, secure); err != nil {
			return "", err
		}
		done = append(done, "logged in as "+u.User.Username())
	}
	if err := c.Mail(from); err != nil {
		return "", fmt.Errorf("MAIL FROM:<%s> refused: %w", from, err)
	}
	done = append(done, "MAIL FROM:<"+from+"> accepted (nothing sent)")
	_ = c.Reset()
	_ = c.Quit()
	return strings.Join(done, ", "), nil
}

// checkDial connects and reads the greeting, with implicit TLS for smtps,
// and says EHLO.
func checkDial(ctx context.Context, u *url.URL, o Options) (*smtp.Client, string, error) {
	port := u.Port()
	if port == "" {
		port = map[bool]string{true: "465", false: "25"}[u.Scheme == "smtps"]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, addr, fmt.Errorf("cannot connect: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(deadline)
	}
	if u.Scheme == "smtps" {
		tc := tls.Client(nc, checkTLSConfig(u, o))
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, addr, fmt.Errorf("TLS handshake failed: %w", err)
		}
		nc = tc
	}
	c, err := smtp.NewClient(nc, u.Hostname())
	if err != nil {
		nc.Close()
		return nil, addr, fmt.Errorf("no SMTP greeting from %s: %w", addr, err)
	}
	helo := o.HeloName
	if helo == "" {
		if helo, err = os.Hostname(); err != nil {
			helo = "localhost"
		}
	}
	if err := c.Hello(helo); err != nil {
		c.Close()
		return nil, addr, fmt.Errorf("EHLO refused: %w", err)
	}
	return c, addr, nil
}

func checkTLSConfig(u *url.URL, o Options) *tls.Config {
	if o.TLSConfig != nil {
		return o.TLSConfig
	}
	return &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
}

// checkStartTLS upgrades the session as smtp.tls asks, and reports whether
// it is encrypted.
func checkStartTLS(c *smtp.Client, u *url.URL, o Options) (bool, error) {
	if ok, _ := c.Extension("STARTTLS"); !ok {
		if o.TLS == TLSMandatory {
			return false, errors.New("TLS: the server does not offer STARTTLS, and smtp.tls is mandatory")
		}
		return false, nil
	}
	if err := c.StartTLS(checkTLSConfig(u, o)); err != nil {
		var reply *textproto.Error
		if errors.As(err, &reply) {
			return false, fmt.Errorf("STARTTLS refused: %w", err)
		}
		return false, fmt.Errorf("TLS handshake failed: %w", err)
	}
	return true, nil
}

// checkAuth logs in with the first mechanism the server offers, in the
// order a send tries them (authPreference).
func checkAuth(c *smtp.Client, u *url.URL, secure bool) error {
	_, offered := c.Extension("AUTH")
	mechs := strings.Fields(strings.ToUpper(offered))
	user := u.User.Username()
	pass, _ := u.User.Password()
	auths := map[string]smtp.Auth{
		"SCRAM-SHA-256": smtp.ScramSHA256Auth(user, pass),
		"SCRAM-SHA-1":   smtp.ScramSHA1Auth(user, pass),
		"CRAM-MD5":      smtp.CRAMMD5Auth(user, pass),
		"PLAIN":         smtp.PlainAuth("", user, pass, u.Hostname(), false),
		"LOGIN":         smtp.LoginAuth(user, pass, u.Hostname(), false),
	}
	for _, mech := range authPreference {
		if slices.Contains(mechs, string(mech)) {
			if err := c.Auth(auths[string(mech)]); err != nil {
				return fmt.Errorf("login as %s with %s failed: %w", user, mech, err)
			}
			return nil
		}
	}
	if len(mechs) == 0 && !secure {
		return errors.New("login: the server offers no AUTH before TLS")
	}
	return fmt.Errorf("login: the server offers AUTH %q, none of which practicemail speaks", offered)
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
