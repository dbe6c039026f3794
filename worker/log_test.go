package worker

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/logtest"
)

func TestAsynqLoggerQuietsRepeats(t *testing.T) {
	var out logtest.Buffer
	l := NewAsynqLogger(slog.New(slog.NewTextHandler(&out, nil)))
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	down := "Failed to forward scheduled tasks: dial tcp 127.0.0.1:6379: connect: connection refused"
	for range 10 {
		l.Error(down)
		now = now.Add(time.Second)
	}
	l.Warn("another message")
	l.Info("an info line is never quieted")
	l.Info("an info line is never quieted")
	if n := strings.Count(out.String(), "Failed to forward"); n != 1 {
		t.Fatalf("%d lines for 10 identical errors in 10 s, want 1:\n%s", n, out.String())
	}
	if n := strings.Count(out.String(), "another message"); n != 1 {
		t.Fatalf("a different message was not logged:\n%s", out.String())
	}
	if n := strings.Count(out.String(), "never quieted"); n != 2 {
		t.Fatalf("info lines were quieted:\n%s", out.String())
	}
	now = now.Add(time.Minute)
	l.Error(down)
	if !strings.Contains(out.String(), "repeated_since_last_logged=9") {
		t.Fatalf("after a minute the error was not logged again with its count:\n%s", out.String())
	}
}
