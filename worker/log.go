package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// AsynqLogger adapts slog to asynq.Logger. asynq's background loops log the
// same error on every round while Redis is away (forwarding, dequeueing,
// heartbeats: several lines a second), so a warning or error already logged
// in the last minute is counted instead of logged again, and the count goes
// with its next appearance.
type AsynqLogger struct {
	L *slog.Logger

	mu      sync.Mutex
	now     func() time.Time
	repeats map[string]*repeat
}

type repeat struct {
	logged     time.Time
	suppressed int
}

// repeatWindow is how long an identical warning or error stays quiet.
const repeatWindow = time.Minute

// NewAsynqLogger returns an AsynqLogger writing to l.
func NewAsynqLogger(l *slog.Logger) *AsynqLogger {
	return &AsynqLogger{L: l, now: time.Now, repeats: map[string]*repeat{}}
}

// Debug logs at debug level.
func (a *AsynqLogger) Debug(args ...any) { a.L.Debug(fmt.Sprint(args...), "component", "asynq") }

// Info logs at info level.
func (a *AsynqLogger) Info(args ...any) { a.L.Info(fmt.Sprint(args...), "component", "asynq") }

// Warn logs at warn level, once a minute for the same message.
func (a *AsynqLogger) Warn(args ...any) { a.quiet(slog.LevelWarn, fmt.Sprint(args...)) }

// Error logs at error level, once a minute for the same message.
func (a *AsynqLogger) Error(args ...any) { a.quiet(slog.LevelError, fmt.Sprint(args...)) }

// Fatal logs at error level and exits, as asynq expects of it.
func (a *AsynqLogger) Fatal(args ...any) {
	a.L.Error(fmt.Sprint(args...), "component", "asynq")
	os.Exit(1)
}

func (a *AsynqLogger) quiet(level slog.Level, msg string) {
	a.mu.Lock()
	now := a.now()
	r := a.repeats[msg]
	if r != nil && now.Sub(r.logged) < repeatWindow {
		r.suppressed++
		a.mu.Unlock()
		return
	}
	suppressed := 0
	if r != nil {
		suppressed = r.suppressed
	}
	if len(a.repeats) >= 256 { // forget what has been quiet for a window
		for m, r := range a.repeats {
			if now.Sub(r.logged) >= repeatWindow {
				delete(a.repeats, m)
			}
		}
	}
	a.repeats[msg] = &repeat{logged: now}
	a.mu.Unlock()
	attrs := []any{"component", "asynq"}
	if suppressed > 0 {
		attrs = append(attrs, "repeated_since_last_logged", suppressed)
	}
	a.L.Log(context.Background(), level, msg, attrs...)
}
