package worker

import (
	"fmt"
	"log/slog"
	"os"
)

// AsynqLogger adapts slog to asynq.Logger.
type AsynqLogger struct{ L *slog.Logger }

// Debug logs at debug level.
func (a AsynqLogger) Debug(args ...any) { a.L.Debug(fmt.Sprint(args...), "component", "asynq") }

// Info logs at info level.
func (a AsynqLogger) Info(args ...any) { a.L.Info(fmt.Sprint(args...), "component", "asynq") }

// Warn logs at warn level.
func (a AsynqLogger) Warn(args ...any) { a.L.Warn(fmt.Sprint(args...), "component", "asynq") }

// Error logs at error level.
func (a AsynqLogger) Error(args ...any) { a.L.Error(fmt.Sprint(args...), "component", "asynq") }

// Fatal logs at error level and exits, as asynq expects of it.
func (a AsynqLogger) Fatal(args ...any) {
	a.L.Error(fmt.Sprint(args...), "component", "asynq")
	os.Exit(1)
}
