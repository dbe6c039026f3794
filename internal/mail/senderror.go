package mail

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"strings"
)

// SendError is a failed delivery attempt. Every error that Send returns for
// a valid message is a *SendError; other errors mean the input was invalid
// and will not pass on retry.
type SendError struct {
	// Stage is where it failed: "connect" (dial, greeting, TLS, auth),
	// "mail", "rcpt", "data" or "wait" (rate limiter or context).
	Stage string
	// Code is the server's reply code, 0 when there was no reply (network
	// error, timeout, cancelled context).
	Code int
	// Enhanced is the RFC 3463 status code from the reply, e.g. "5.1.1".
	Enhanced string
	// Reply is the server's reply text.
	Reply string
	// Temporary says whether trying again later may succeed. Everything is
	// temporary except a 5xx reply to RCPT TO or to the message data: a 5xx
	// while connecting or to MAIL FROM is about our own setup, not about the
	// recipient, and must not count as a bounce.
	Temporary bool
	// Cause says, for a failure while connecting, what failed: CauseTLS
	// (no STARTTLS where it is mandatory, a certificate or handshake
	// failure), CauseAuth (credentials refused, or no mechanism both
	// sides know), or "" (the network, the greeting, EHLO).
	Cause string
	// MaybeDelivered says that the connection failed after the message
	// and its final dot went out, before the server's reply: the server
	// may have accepted it. Sending it again may deliver it twice.
	MaybeDelivered bool
	// Err is the underlying error.
	Err error
}

// Error describes the failure. It leaves out the reply text, which often
// quotes the recipient's address; Reply has it.
func (e *SendError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("smtp %s: %d %s", e.Stage, e.Code, e.Enhanced)
	}
	if e.MaybeDelivered {
		return fmt.Sprintf("smtp %s: %v (after the message went out: it may have been delivered)", e.Stage, e.Err)
	}
	return fmt.Sprintf("smtp %s: %v", e.Stage, e.Err)
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

// Permanent reports whether the server refused this message for good.
func (e *SendError) Permanent() bool { return !e.Temporary }

// ServerWide reports whether the failure is the server's, or our own
// setup's, rather than the recipient's, so that it would meet every message
// alike: no answer at all (Code 0: unreachable, broken, silent, including a
// connection lost after the message went out, see MaybeDelivered), 421
// (the server is closing the channel), or any refusal while connecting
// (greeting, TLS, AUTH) or of our MAIL FROM. A caller should stop and wait
// for the server rather than charge the recipient an attempt.
func (e *SendError) ServerWide() bool {
	return e.Code == 0 || e.Code == 421 || e.Stage == "connect" || e.Stage == "mail"
}

// Causes of a failure while connecting; see SendError.Cause.
const (
	CauseTLS  = "tls"
	CauseAuth = "auth"
)

// TLSFailed reports whether the connection failed at TLS: a setup or
// certificate problem, not the network.
func (e *SendError) TLSFailed() bool { return e.Cause == CauseTLS }

// AuthFailed reports whether the server refused our login.
func (e *SendError) AuthFailed() bool { return e.Cause == CauseAuth }

// connectCause tells what failed in a dial: go-mail reports TLS and AUTH
// failures as errors of crypto/tls and crypto/x509, or as its own
// formatted errors ("… does not support STARTTLS", "SMTP AUTH failed: …",
// "SMTP Auth autodiscover …"), which carry no sentinel.
func connectCause(err error) string {
	var (
		verify *tls.CertificateVerificationError
		alert  tls.AlertError
		record tls.RecordHeaderError
		ca     x509.UnknownAuthorityError
		host   x509.HostnameError
		cert   x509.CertificateInvalidError
	)
	if errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &record) ||
		errors.As(err, &ca) || errors.As(err, &host) || errors.As(err, &cert) {
		return CauseTLS
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "smtp auth"):
		return CauseAuth
	case strings.Contains(msg, "starttls"), strings.Contains(msg, "tls:"):
		return CauseTLS
	}
	return ""
}

var enhancedRe = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})\s`)

// newSendError classifies err, which happened at stage.
func newSendError(stage string, err error) *SendError {
	se := &SendError{Stage: stage, Temporary: true, Err: err}
	if stage == "connect" {
		se.Cause = connectCause(err)
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		se.Code, se.Reply = te.Code, te.Msg
		if m := enhancedRe.FindStringSubmatch(te.Msg + " "); m != nil {
			se.Enhanced = m[1]
		}
		se.Temporary = te.Code/100 != 5 || (stage != "rcpt" && stage != "data")
	}
	return se
}

// isReply reports whether err is a reply from the server rather than a
// broken connection.
func isReply(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te)
}
