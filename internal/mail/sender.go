package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Sender sends prepared messages; *Pool sends over SMTP and *Outbox writes
// .eml files.
type Sender interface {
	// Send delivers msg written for r, with envelope sender from (or the
	// Options.ReturnPath it was opened with) and envelope recipient to. It returns nil only once the message is
	// accepted.
	Send(ctx context.Context, from, to string, msg *Prepared, r Recipient) error
	// SendReply is Send that also returns what the receiver said: the SMTP
	// server's final reply text (usually with its queue id), or the path of
	// the .eml file. A non-nil gate holds back the moment the message can
	// be delivered; see Gate.
	//
	// Cancelling ctx stops a send until its message's end-of-data dot has
	// gone out, and nothing is delivered. After that, only the server's
	// reply says whether it was, and a caller that gave up on it would send
	// the message again: so SendReply waits for that reply (within
	// Options.DataTimeout) and returns it, cancelled or not.
	SendReply(ctx context.Context, from, to string, msg *Prepared, r Recipient, gate Gate) (string, error)
	// Close releases connections; it waits for sends in progress.
	Close() error
}

// A Gate is called by SendReply at the last moment before the message can be
// delivered: on SMTP, once the server has accepted the envelope and said to
// go ahead with the data, just before the message and the end-of-data dot
// that asks it to accept the message. Until the gate returns, the message
// cannot have been delivered. An error abandons the message undelivered
// (mid-DATA the connection is dropped, which makes the server discard it),
// and SendReply returns that error as it is. A gate may be called more than
// once for one message, when a transaction is retried on a fresh
// connection.
//
// The worker waits there for its previous message's outcome to be written,
// so that the mail transaction up to that point overlaps the write.
type Gate func(context.Context) error

// gateError marks an error returned by a Gate.
type gateError struct{ err error }

func (e gateError) Error() string { return e.err.Error() }
func (e gateError) Unwrap() error { return e.err }

// TLS policies for Options.TLS.
const (
	TLSMandatory     = "mandatory"     // STARTTLS required (or smtps://)
	TLSOpportunistic = "opportunistic" // STARTTLS when the server offers it
	TLSNone          = "none"          // plaintext; loopback servers only
)

// Options configure Open.
type Options struct {
	// URL is smtp://[user:pass@]host[:port] (port 25 by default) or
	// smtps://… (port 465, TLS from the first byte). Empty means the outbox.
	URL string
	// TLS is the STARTTLS policy for smtp:// URLs: mandatory (the default),
	// opportunistic or none.
	TLS string
	// Connections is how many SMTP connections are kept open [4].
	Connections int
	// Timeout bounds connecting: the dial, the greeting, EHLO, STARTTLS
	// and AUTH, and QUIT [30s].
	Timeout time.Duration
	// CommandTimeout bounds the wait for each reply within a mail
	// transaction (MAIL, RCPT, DATA) and the writing of the message
	// [5m, RFC 5321 4.5.3.2].
	CommandTimeout time.Duration
	// DataTimeout bounds the wait for the reply to the message's final
	// dot, while the server decides whether to take it [10m, RFC 5321
	// 4.5.3.2.6]. Giving up sooner leaves the message's fate unknown.
	DataTimeout time.Duration
	// OutboxDir is where the outbox writes .eml files; required without URL.
	OutboxDir string
	// HeloName is the name given in EHLO [the host name].
	HeloName string
	// DKIM, when set, signs every message.
	DKIM *DKIMOptions
	// TLSConfig overrides the TLS client configuration (e.g. custom roots).
	TLSConfig *tls.Config
	// Limiter, when set, is waited on before every message.
	Limiter *Limiter
	// ReturnPath, when set, is the envelope sender (MAIL FROM) of every
	// message instead of the from given to Send: where bounces go.
	ReturnPath string
}

// Open returns the Sender that o describes: an *Outbox when o.URL is empty,
// else a *Pool. Invalid options are reported all at once. Open dials
// nothing; connections are made on first use.
func Open(ctx context.Context, o Options) (Sender, error) {
	o, u, err := o.validate()
	if err != nil {
		return nil, err
	}
	var sign *signer
	if o.DKIM != nil {
		if sign, err = newSigner(o.DKIM); err != nil {
			return nil, err
		}
	}
	if u == nil {
		return newOutbox(o.OutboxDir, sign, o.Limiter)
	}
	return newPool(u, o, sign)
}

// validate fills in defaults and checks o, returning the parsed URL (nil for
// the outbox).
func (o Options) validate() (Options, *url.URL, error) {
	var errs []error
	if o.Connections == 0 {
		o.Connections = 4
	}
	if o.Connections < 0 {
		errs = append(errs, fmt.Errorf("smtp connections: %d is negative", o.Connections))
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.CommandTimeout == 0 {
		o.CommandTimeout = 5 * time.Minute
	}
	if o.DataTimeout == 0 {
		o.DataTimeout = 10 * time.Minute
	}
	if o.TLS == "" {
		o.TLS = TLSMandatory
	}
	if o.ReturnPath != "" {
		if err := checkAddress(o.ReturnPath); err != nil {
			errs = append(errs, fmt.Errorf("smtp return_path: %w", err))
		}
	}
	if o.URL == "" {
		if o.OutboxDir == "" {
			errs = append(errs, errors.New("smtp outbox_dir: required when smtp url is empty"))
		}
		return o, nil, errors.Join(errs...)
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return o, nil, errors.Join(append(errs, fmt.Errorf("smtp url: %w", err))...)
	}
	errs = append(errs, checkURL(u, o.TLS)...)
	return o, u, errors.Join(errs...)
}

func checkURL(u *url.URL, policy string) []error {
	var errs []error
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		errs = append(errs, fmt.Errorf("smtp url: scheme %q, want smtp or smtps", u.Scheme))
	}
	if u.Hostname() == "" {
		errs = append(errs, errors.New("smtp url: no host"))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("smtp url: bad port %q", p))
		}
	}
	switch policy {
	case TLSMandatory, TLSOpportunistic:
	case TLSNone:
		if u.Scheme == "smtps" {
			errs = append(errs, errors.New("smtp tls: none contradicts an smtps url"))
		}
		if !isLoopback(u.Hostname()) {
			errs = append(errs, fmt.Errorf("smtp tls: none is allowed only for loopback hosts, not %q", u.Hostname()))
		}
	default:
		errs = append(errs, fmt.Errorf("smtp tls: %q, want mandatory, opportunistic or none", policy))
	}
	return errs
}

// isLoopback reports whether host is localhost or a loopback address. Names
// other than "localhost" are not resolved: DNS must not decide whether a
// password crosses the network in clear.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
