package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/practicemail/practicemail/internal/certtest"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

// tlsServer is an SMTP server over TCP that offers STARTTLS with a
// self-signed certificate for 127.0.0.1, which the system does not trust.
type tlsServer struct {
	URL   string
	Roots *x509.CertPool // trusts its certificate
	mails atomic.Int64   // MAIL FROM commands accepted
	datas atomic.Int64   // DATA commands
}

func newTLSServer(t *testing.T) *tlsServer {
	t.Helper()
	cert := certtest.New(t, "127.0.0.1")
	s := &tlsServer{Roots: cert.Roots}
	srv := smtp.NewServer(tlsBackend{s})
	srv.Domain = "mailtest.local"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.URL = "smtp://" + l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return s
}

type tlsBackend struct{ s *tlsServer }

func (b tlsBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return tlsSession(b), nil }

type tlsSession struct{ s *tlsServer }

func (ss tlsSession) Mail(string, *smtp.MailOptions) error { ss.s.mails.Add(1); return nil }
func (ss tlsSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss tlsSession) Data(r io.Reader) error {
	ss.s.datas.Add(1)
	_, err := io.Copy(io.Discard, r)
	return err
}
func (ss tlsSession) Reset()        {}
func (ss tlsSession) Logout() error { return nil }

func check(t *testing.T, o Options) (string, error) {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	return Check(context.Background(), o, "hello@stillpoint.example")
}

// Issue 7 item 12: a TLS mismatch was logged as the server being
// unreachable. Check names the TLS handshake and why it failed.
func TestCheckSaysTheTLSHandshakeFailedAndWhy(t *testing.T) {
	srv := newTLSServer(t)
	_, err := check(t, Options{URL: srv.URL, TLS: TLSMandatory})
	if err == nil || !strings.HasPrefix(err.Error(), "TLS failed: ") ||
		!strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Fatalf("Check against a self-signed certificate: %v", err)
	}
	if srv.mails.Load() != 0 {
		t.Fatal("Check went on to MAIL FROM after the handshake failed")
	}
}

// With the certificate trusted, Check goes through TLS to MAIL FROM, then
// resets: nothing is sent.
func TestCheckGoesToMailFromAndSendsNothing(t *testing.T) {
	srv := newTLSServer(t)
	got, err := check(t, Options{URL: srv.URL, TLS: TLSMandatory,
		TLSConfig: &tls.Config{RootCAs: srv.Roots, ServerName: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "TLS") || !strings.Contains(got, "MAIL FROM:<hello@stillpoint.example> accepted") {
		t.Fatalf("Check said %q", got)
	}
	if srv.mails.Load() != 1 || srv.datas.Load() != 0 {
		t.Fatalf("MAIL FROM %d times, DATA %d times; want 1 and 0", srv.mails.Load(), srv.datas.Load())
	}
}

// A server without STARTTLS, under smtp.tls mandatory, is a TLS failure,
// not an unreachable server.
func TestCheckSaysTheServerOffersNoSTARTTLS(t *testing.T) {
	srv := mailtest.NewServer(t)
	_, err := check(t, Options{URL: srv.URL, TLS: TLSMandatory})
	if err == nil || !strings.Contains(err.Error(), "does not support STARTTLS") {
		t.Fatalf("Check against a server without STARTTLS: %v", err)
	}
}

// Each other step that can fail says which it was.
func TestCheckNamesTheStepThatFailed(t *testing.T) {
	authed := mailtest.NewServer(t)
	authed.SetAuth("practice", "right")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "smtp://" + closed.Addr().String()
	closed.Close()
	refusing := newFaultServer(t, func(c cue) action {
		if c.at == "mail" {
			return action{reply: "553 5.7.1 Sender address rejected: not owned by user"}
		}
		return action{}
	})
	for _, tt := range []struct {
		name, url, want string
	}{
		{"nothing listening", closedURL, "cannot connect to "},
		{"wrong password", strings.Replace(authed.URL, "smtp://", "smtp://practice:wrong@", 1), "login as practice failed: "},
		{"sender refused", refusing.URL, "MAIL FROM:<hello@stillpoint.example> refused: 553"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := check(t, Options{URL: tt.url, TLS: TLSNone})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Check: %v, want it to start %q", err, tt.want)
			}
		})
	}
	got, err := check(t, Options{URL: strings.Replace(authed.URL, "smtp://", "smtp://practice:right@", 1), TLS: TLSNone})
	if err != nil || !strings.Contains(got, "logged in as practice") {
		t.Fatalf("Check with the right password: %q, %v", got, err)
	}
	if authed.Count() != 0 {
		t.Fatalf("Check sent %d messages", authed.Count())
	}
}
