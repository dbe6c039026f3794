package mailtest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const sample = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n" +
	"--XX\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"caf=C3=A9 a=3Db long=\r\n line\r\n" +
	"--XX\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"PHA+aGk8L3A+\r\n" +
	"--XX--\r\n"

func send(t *testing.T, addr, to string, auth sasl.Client) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	return c.SendMail("a@example.com", []string{to}, strings.NewReader(sample))
}

func TestServerKeepsMessages(t *testing.T) {
	s := NewServer(t)
	if err := send(t, s.Addr, "b@example.com", nil); err != nil {
		t.Fatalf("send: %v", err)
	}
	s.WaitCount(t, 1, 5*time.Second)
	msgs := s.Messages()
	if len(msgs) != 1 || msgs[0].From != "a@example.com" || msgs[0].To[0] != "b@example.com" {
		t.Fatalf("messages = %+v", msgs)
	}
	if got := msgs[0].Header.Get("Subject"); got != "hi" {
		t.Errorf("Subject = %q", got)
	}
	if s.Sessions() != 1 {
		t.Errorf("Sessions = %d, want 1", s.Sessions())
	}
	p := Parse(t, msgs[0].Data)
	if p.ContentType != "multipart/alternative" {
		t.Errorf("ContentType = %q", p.ContentType)
	}
	if p.TextPart != "café a=b long line" {
		t.Errorf("TextPart = %q", p.TextPart)
	}
	if p.HTMLPart != "<p>hi</p>" {
		t.Errorf("HTMLPart = %q", p.HTMLPart)
	}
}

func TestServerHooks(t *testing.T) {
	s := NewServer(t)
	s.SetRcptHook(func(to string) *smtp.SMTPError {
		if to == "busy@example.com" {
			return &smtp.SMTPError{Code: 450, Message: "try later"}
		}
		return nil
	})
	s.SetDataHook(func(to []string) *smtp.SMTPError {
		if to[0] == "bad@example.com" {
			return &smtp.SMTPError{Code: 554, Message: "rejected"}
		}
		return nil
	})
	var se *smtp.SMTPError
	if err := send(t, s.Addr, "busy@example.com", nil); !errors.As(err, &se) || se.Code != 450 {
		t.Errorf("rcpt hook: err = %v, want 450", err)
	}
	if err := send(t, s.Addr, "bad@example.com", nil); !errors.As(err, &se) || se.Code != 554 {
		t.Errorf("data hook: err = %v, want 554", err)
	}
	if s.Count() != 0 {
		t.Errorf("Count = %d, want 0", s.Count())
	}
}

func TestServerStopStart(t *testing.T) {
	s := NewServer(t)
	s.Stop()
	if err := send(t, s.Addr, "b@example.com", nil); err == nil {
		t.Fatal("send to a stopped server succeeded")
	}
	s.Start()
	if err := send(t, s.Addr, "b@example.com", nil); err != nil {
		t.Fatalf("send after Start: %v", err)
	}
	if s.Count() != 1 {
		t.Errorf("Count = %d, want 1", s.Count())
	}
}

func TestServerAuthAndDiscard(t *testing.T) {
	s := NewServer(t)
	s.SetAuth("user", "secret")
	s.Discard(true)
	if err := send(t, s.Addr, "b@example.com", nil); err == nil {
		t.Error("unauthenticated send succeeded")
	}
	if err := send(t, s.Addr, "b@example.com", sasl.NewPlainClient("", "user", "wrong")); err == nil {
		t.Error("send with a wrong password succeeded")
	}
	if err := send(t, s.Addr, "b@example.com", sasl.NewPlainClient("", "user", "secret")); err != nil {
		t.Fatalf("authenticated send: %v", err)
	}
	if s.Count() != 1 || len(s.Messages()) != 0 {
		t.Errorf("Count = %d, kept %d; want 1 counted, none kept", s.Count(), len(s.Messages()))
	}
}
