package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/certtest"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

// selfSignedListener listens for TLS on 127.0.0.1 with a certificate no
// one trusts, and completes handshakes until the test ends.
func selfSignedListener(t *testing.T) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{certtest.New(t, "127.0.0.1").TLS}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return l.Addr().String()
}

// Each failure while connecting says what failed, so that the worker can
// say "TLS" or "login" instead of "unreachable", which sends a user
// looking at the network.
func TestConnectFailuresSayWhatFailed(t *testing.T) {
	plain := mailtest.NewServer(t)
	authed := mailtest.NewServer(t)
	authed.SetAuth("practice", "right")
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := down.Addr().String()
	down.Close()
	for _, tt := range []struct {
		name      string
		o         Options
		tls, auth bool
	}{
		{"no STARTTLS where it is mandatory", Options{URL: plain.URL, TLS: TLSMandatory}, true, false},
		{"a certificate nobody trusts", Options{URL: "smtps://" + selfSignedListener(t)}, true, false},
		{"the password refused", Options{URL: "smtp://practice:wrong@" + authed.Addr, TLS: TLSNone}, false, true},
		{"nobody listening", Options{URL: "smtp://" + downAddr, TLS: TLSNone}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Connections, tt.o.Timeout = 1, 10*time.Second
			s, err := Open(context.Background(), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = returns(t, func() error { return sendTo(context.Background(), s.(*Pool), 1) })
			var se *SendError
			if !errors.As(err, &se) || se.Stage != "connect" {
				t.Fatalf("err = %v, want a connect SendError", err)
			}
			if se.TLSFailed() != tt.tls || se.AuthFailed() != tt.auth {
				t.Errorf("err = %v: TLSFailed %v, AuthFailed %v; want %v, %v", err, se.TLSFailed(), se.AuthFailed(), tt.tls, tt.auth)
			}
		})
	}
}
