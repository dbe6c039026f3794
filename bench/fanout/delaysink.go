package main

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// delaySink is an SMTP server that answers each message's final dot after
// a delay, as a relay some way off does, and counts the messages it took
// in each second.
type delaySink struct {
	delay time.Duration
	srv   *smtp.Server
	ln    net.Listener

	mu     sync.Mutex
	perSec map[int64]int // unix second → messages answered in it
	total  int
	first  time.Time
	last   time.Time
}

// startDelaySink listens on a free loopback port.
func startDelaySink(delay time.Duration) (*delaySink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &delaySink{delay: delay, ln: ln, perSec: map[int64]int{}}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "delay-sink.local"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxRecipients = 1
	go s.srv.Serve(ln)
	return s, nil
}

func (s *delaySink) Addr() string { return s.ln.Addr().String() }
func (s *delaySink) Close()       { s.srv.Close() }

// reset forgets the counts.
func (s *delaySink) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perSec, s.total, s.first, s.last = map[int64]int{}, 0, time.Time{}, time.Time{}
}

// stats are the messages taken, from the first to the last, and the most
// taken in one whole second.
func (s *delaySink) stats() (total int, span time.Duration, peak int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, last := s.first.Unix(), s.last.Unix()
	for sec, n := range s.perSec {
		// The first and the last second are partial: not counted as peaks.
		if sec != first && sec != last {
			peak = max(peak, n)
		}
	}
	return s.total, s.last.Sub(s.first), peak
}

func (s *delaySink) took() {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.total++
	s.perSec[now.Unix()]++
}

func (s *delaySink) NewSession(*smtp.Conn) (smtp.Session, error) { return &delaySession{s: s}, nil }

type delaySession struct{ s *delaySink }

func (d *delaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (d *delaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (d *delaySession) Reset()                               {}
func (d *delaySession) Logout() error                        { return nil }

func (d *delaySession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	time.Sleep(d.s.delay)
	d.s.took()
	return nil
}
