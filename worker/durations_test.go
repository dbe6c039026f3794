package worker

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/redis/go-redis/v9"
)

// Issue 7 item 12: durations in logs in a readable unit. With the JSON log
// format, slog writes a time.Duration as a count of nanoseconds
// ("retry_every":100000000); the log says "100ms".
func TestLoggedDurationsAreReadable(t *testing.T) {
	_, _, newScheduler := schedulerSetup(t)
	log := &logtest.Buffer{}
	s := newScheduler(log)
	s.W.Log = slog.New(slog.NewJSONHandler(log, nil))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	down := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1})
	defer down.Close()
	s.Redis = down
	s.hold(context.Background(), "me")
	line, _, _ := strings.Cut(log.String(), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if rec["msg"] != "scheduler_lock_failed" || rec["retry_every"] != s.Tick.String() {
		t.Fatalf("retry_every is %#v, want %q: %s", rec["retry_every"], s.Tick.String(), line)
	}
}
