package worker

import (
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store/storetest"
)

// The tuning that follows from the worker's own settings is made where the
// worker is made, not by whoever wires it: its database's recorder commits
// when half its in-flight messages have outcomes waiting, and its asynq
// server looks for work often enough that a post does not wait a second
// between its steps.
func TestTheWorkerTunesWhatItsSettingsDecide(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	w := New(db, Options{InFlight: 8})
	if db.RecordGroup != 4 {
		t.Errorf("with 8 messages in flight the recorder commits groups of %d, want 4", db.RecordGroup)
	}
	cfg := w.serverConfig(ServerOptions{})
	if cfg.TaskCheckInterval != 100*time.Millisecond || cfg.DelayedTaskCheckInterval != 500*time.Millisecond {
		t.Errorf("asynq looks for new work every %s and scheduled work every %s; want 100ms and 500ms",
			cfg.TaskCheckInterval, cfg.DelayedTaskCheckInterval)
	}
	if cfg = w.serverConfig(ServerOptions{QueuePoll: 50 * time.Millisecond}); cfg.TaskCheckInterval != 50*time.Millisecond {
		t.Errorf("QueuePoll 50ms: asynq looks every %s", cfg.TaskCheckInterval)
	}
}
