// Package mailtest runs a real SMTP server over TCP inside a test process, so
// code that sends mail can be tested against the protocol rather than a fake.
package mailtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From   string
	To     []string
	Data   []byte
	Header mail.Header
}

// Server is an in-process SMTP server listening on 127.0.0.1. It offers
// PIPELINING and 8BITMIME, no TLS, and requires no authentication unless
// SetAuth is called.
type Server struct {
	// Addr is the host:port the server listens on; it stays the same across
	// Stop and Start.
	Addr string
	// URL is "smtp://" + Addr, ready for a sender's configuration.
	URL string

	t        testing.TB
	mu       sync.Mutex
	srv      *smtp.Server
	lis      *listener
	msgs     []Message
	rcptHook func(to string) *smtp.SMTPError
	dataHook func(to []string) *smtp.SMTPError
	user     string
	pass     string

	count    atomic.Int64
	sessions atomic.Int64
	discard  atomic.Bool
}

// NewServer starts a server on 127.0.0.1 with a free port. It is closed when
// the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{Addr: l.Addr().String(), t: t}
	s.URL = "smtp://" + s.Addr
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

// serve starts a fresh go-smtp server on l.
func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "mailtest.local"
	srv.AllowInsecureAuth = true
	srv.MaxRecipients = 100
	srv.ErrorLog = log.New(io.Discard, "", 0)
	lis := &listener{Listener: l, conns: map[net.Conn]struct{}{}}
	s.mu.Lock()
	s.srv, s.lis = srv, lis
	s.mu.Unlock()
	go func() { _ = srv.Serve(lis) }()
}

// Stop closes the listener and drops every open connection, as a server that
// went down would. It does nothing if the server is already stopped.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, lis := s.srv, s.lis
	s.srv, s.lis = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Closing our own listener first drops connections that go-smtp has
		// accepted but not yet registered, which its Close would miss.
		lis.closeAll()
		_ = srv.Close()
	}
}

// Start listens again on the same address after Stop. It fails the test that
// created the server if the address cannot be bound again.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return
	}
	var l net.Listener
	var err error
	for range 50 { // the old listener's socket may take a moment to go away
		if l, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("mailtest: listen again on %s: %v", s.Addr, err)
	}
	s.serve(l)
}

// Discard makes the server count accepted messages without keeping them, for
// benchmarks.
func (s *Server) Discard(on bool) { s.discard.Store(on) }

// SetAuth requires clients to authenticate with PLAIN using user and
// pass before MAIL FROM. An empty user turns authentication off again.
func (s *Server) SetAuth(user, pass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass = user, pass
}

// SetRcptHook installs a function called for every RCPT TO; a non-nil result
// is the server's reply instead of 250.
func (s *Server) SetRcptHook(f func(to string) *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptHook = f
}

// SetDataHook installs a function called after a message's data has been
// read; a non-nil result is the server's reply instead of 250, and the
// message is not kept.
func (s *Server) SetDataHook(f func(to []string) *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataHook = f
}

// Messages returns a copy of the list of accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count reports how many messages were accepted, including discarded ones.
func (s *Server) Count() int { return int(s.count.Load()) }

// Sessions reports how many SMTP sessions (connections that said EHLO or
// HELO) the server has seen, so tests can check that connections are reused.
func (s *Server) Sessions() int { return int(s.sessions.Load()) }

// WaitCount polls until at least n messages were accepted, failing the test
// with the count reached if timeout passes first.
func (s *Server) WaitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for s.Count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("mailtest: waited %v for %d messages, got %d", timeout, n, s.Count())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// accept records one message that passed the data hook.
func (s *Server) accept(from string, to []string, data []byte) error {
	if s.discard.Load() {
		s.count.Add(1)
		return nil
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparseable message"}
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, Message{From: from, To: to, Data: data, Header: m.Header})
	s.mu.Unlock()
	s.count.Add(1)
	return nil
}

// backend creates one session per connection.
type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.s.sessions.Add(1)
	return &session{s: b.s}, nil
}

// session is the state of one SMTP connection.
type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func (ss *session) AuthMechanisms() []string {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		ss.s.mu.Lock()
		ok := user == ss.s.user && pass == ss.s.pass
		ss.s.mu.Unlock()
		if !ok {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	needAuth := ss.s.user != ""
	ss.s.mu.Unlock()
	if needAuth && !ss.authed {
		return errAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	hook := ss.s.rcptHook
	ss.s.mu.Unlock()
	if hook != nil {
		if e := hook(to); e != nil {
			return e
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var data []byte
	if ss.s.discard.Load() {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return fmt.Errorf("read data: %w", err)
		}
	} else {
		var err error
		if data, err = io.ReadAll(r); err != nil {
			return fmt.Errorf("read data: %w", err)
		}
	}
	ss.s.mu.Lock()
	hook := ss.s.dataHook
	ss.s.mu.Unlock()
	if hook != nil {
		if e := hook(ss.to); e != nil {
			return e
		}
	}
	return ss.s.accept(ss.from, append([]string(nil), ss.to...), data)
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }
