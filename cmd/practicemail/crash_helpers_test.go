package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store"
)

// crashAudience is how many confirmed subscribers the crash tests mail: enough
// batches that a fault lands in the middle of the work.
const crashAudience = 5000

// crashSeed adds crashAudience confirmed subscribers, and a few pending and
// unsubscribed ones who must get nothing. It returns the confirmed addresses.
// It writes 500 people a transaction, as an import does: one transaction
// each would take most of a minute on SQLite under the race detector.
func crashSeed(h *harness) []string {
	h.t.Helper()
	start := time.Now()
	var active []string
	var batch []store.NewSubscriber
	for i := range crashAudience {
		e := fmt.Sprintf("active-%d@example.com", i)
		active = append(active, e)
		batch = append(batch, store.NewSubscriber{Email: e, Name: fmt.Sprintf("Person %d", i),
			Topics: []string{store.TopicPosts}, Confirmed: true, ConsentSource: "test"})
		if len(batch) == 500 || i == crashAudience-1 {
			if _, err := h.db.AddSubscribers(context.Background(), batch); err != nil {
				h.t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	h.addSubscribers("pending", 5, store.StatusPending)
	h.addSubscribers("gone", 5, store.StatusUnsubscribed)
	h.t.Logf("seeded %d subscribers in %s", crashAudience+10, time.Since(start).Round(time.Millisecond))
	return active
}

// crashThrottleSMTP makes the server take a moment over each message, as a real
// relay does, so that a fault can land while sends are under way.
func crashThrottleSMTP(s *mailtest.Server, d time.Duration) {
	s.SetDataHook(func([]string) *smtp.SMTPError {
		time.Sleep(d)
		return nil
	})
}

// crashReport is what the SMTP server received, per recipient.
type crashReport struct {
	total      int
	duplicates int                 // messages beyond the first to the same address
	byAddress  map[string][]string // address → Message-IDs received
}

// crashCheckMessages asserts that every address in want got at least one
// message, nobody else got any, at most maxDup extra messages arrived, and
// each extra one repeats its original's Message-ID, so that a mail client
// can tell it for a duplicate.
func crashCheckMessages(t *testing.T, msgs []mailtest.Message, want []string, maxDup int) crashReport {
	t.Helper()
	r := crashReport{total: len(msgs), byAddress: make(map[string][]string)}
	for _, m := range msgs {
		if len(m.To) != 1 {
			t.Fatalf("a message went to %d recipients: %v", len(m.To), m.To)
		}
		r.byAddress[m.To[0]] = append(r.byAddress[m.To[0]], m.Header.Get("Message-Id"))
	}
	var missing []string
	for _, a := range want {
		if len(r.byAddress[a]) == 0 {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d confirmed subscribers got nothing, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	wanted := make(map[string]bool, len(want))
	for _, a := range want {
		wanted[a] = true
	}
	var dupLines []string
	for a, ids := range r.byAddress {
		if !wanted[a] {
			t.Errorf("%s is not a confirmed subscriber and got %d message(s)", a, len(ids))
		}
		r.duplicates += len(ids) - 1
		if len(ids) > 1 {
			dupLines = append(dupLines, fmt.Sprintf("%s ×%d %v", a, len(ids), ids))
		}
		for _, id := range ids[1:] {
			if id != ids[0] {
				t.Errorf("%s got messages with different Message-IDs %v: a retry must reuse its ID", a, ids)
			}
		}
	}
	sort.Strings(dupLines)
	if r.duplicates > maxDup {
		t.Errorf("%d duplicate messages, want at most %d:\n  %s", r.duplicates, maxDup, strings.Join(dupLines, "\n  "))
	} else if len(dupLines) > 0 {
		t.Logf("duplicates:\n  %s", strings.Join(dupLines, "\n  "))
	}
	return r
}

// crashCheckLedger asserts that the post's ledger holds one sent row per
// address in want and nothing else.
func crashCheckLedger(t *testing.T, db *store.DB, postID int64, want []string) {
	t.Helper()
	rows, err := db.Deliveries(context.Background(), store.KindPost, postID)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]int, len(rows))
	for _, d := range rows {
		seen[d.Recipient]++
		if d.State != store.DeliverySent {
			t.Errorf("ledger row %d for %s is %s (%s), want sent", d.ID, d.Recipient, d.State, d.LastReply)
		}
	}
	for _, a := range want {
		if seen[a] != 1 {
			t.Errorf("ledger has %d rows for %s, want 1", seen[a], a)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("ledger has %d rows, want %d", len(rows), len(want))
	}
}

// crashPostID returns the ID of the one post in state, failing unless there is exactly one.
func crashPostID(h *harness, state string) int64 {
	h.t.Helper()
	p, err := h.db.PostsInState(context.Background(), state, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(p) != 1 {
		h.t.Fatalf("%d posts in state %s, want 1", len(p), state)
	}
	return p[0].ID
}

// crashFlushRedis empties this package's Redis database.
func crashFlushRedis(t *testing.T) {
	t.Helper()
	redistest.DB(t, redistest.Commands)
}

// crashBuildBinary compiles practicemail into a temporary directory, from the
// module root two levels above this package.
func crashBuildBinary(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above the test's directory: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "practicemail")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/practicemail")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// crashProcess is practicemail running as a child process, as in production.
type crashProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	log    *logtest.Buffer // this life's log only
	exited chan struct{}   // closed once the process is reaped
	err    error           // how it exited; read after exited is closed
}

// crashStart runs `practicemail run` with the harness's configuration. Its
// log goes to h.logs too, so the harness's waits show it on a timeout.
func crashStart(h *harness, bin string) *crashProcess {
	h.t.Helper()
	return crashStartCommand(h, bin, "run")
}

// crashStartCommand runs `practicemail COMMAND` (run, worker, scheduler)
// with the harness's configuration.
func crashStartCommand(h *harness, bin, command string) *crashProcess {
	h.t.Helper()
	p := &crashProcess{t: h.t, log: &logtest.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, command, "--config", h.config)
	p.cmd.Env = crashChildEnv()
	p.cmd.Stdout = io.MultiWriter(h.logs, p.log)
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		h.t.Fatalf("start practicemail: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	h.t.Cleanup(p.kill)
	return p
}

// crashChildEnv is the test's environment without PRACTICEMAIL_* variables: the
// configuration file alone decides, and config refuses unknown ones (such as
// PRACTICEMAIL_TEST_POSTGRES).
func crashChildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PRACTICEMAIL_") {
			env = append(env, kv)
		}
	}
	return env
}

// kill sends SIGKILL and reaps the process, so that its PID is gone: a
// zombie still answers kill(pid, 0), and its leases would look alive.
func (p *crashProcess) kill() {
	p.cmd.Process.Kill() // an error only says it has already exited
	<-p.exited
}

// stop asks the process to shut down as a supervisor would, and waits.
func (p *crashProcess) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			p.t.Errorf("practicemail after SIGTERM: %v\nlog (tail):\n%s", p.err, tail(p.log.String(), logLines()))
		}
	case <-time.After(30 * time.Second):
		p.kill()
		p.t.Errorf("practicemail did not stop within 30s of SIGTERM")
	}
}
