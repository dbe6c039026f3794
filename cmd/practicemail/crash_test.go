package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// crashConnections is smtp.connections in the harness's configuration: at most
// this many sends can be in flight when the worker dies, so at most this many
// messages can reach the server without reaching the ledger.
const crashConnections = 4

// TestCrashSIGKILLMidFanout kills the worker with SIGKILL while it mails a
// post to 5,000 subscribers and starts it again: everyone gets the post, and
// only sends in flight at the kill may arrive twice. The program runs as a
// real child process with production tuning (batches of 500, 30s leases), so
// the restart must reclaim the dead process's leases rather than wait them out.
// It runs on each SQL engine: PostgreSQL writes outcomes its own way
// (store's outcomes_pg.go).
func TestCrashSIGKILLMidFanout(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { crashSIGKILLMidFanout(t, engine) })
	}
}

func crashSIGKILLMidFanout(t *testing.T, engine string) {
	bin := crashBuildBinary(t)
	h := newHarness(t, harnessOptions{engine: engine, items: []item{postItem(1)}, holdOver: 3})
	// A relay that takes a few milliseconds per message keeps the run long
	// enough for the kill to land in its middle.
	crashThrottleSMTP(h.smtp, 2*time.Millisecond)
	active := crashSeed(h)

	first := crashStart(h, bin)
	h.waitFor("the first poll", 30*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	h.feed.set(postItem(1), postItem(2))
	h.waitFor("1,000 messages", 60*time.Second, func() bool { return h.smtp.Count() >= 1000 })
	first.kill()
	killed := time.Now()
	atKill, recordedAtKill := h.smtp.Count(), h.deliveries()[store.DeliverySent]
	if atKill >= crashAudience {
		t.Fatalf("the kill came after the run: %d messages already sent", atKill)
	}

	second := crashStart(h, bin)
	h.waitFor("5,000 sent in the ledger", 120*time.Second, func() bool {
		return h.deliveries()[store.DeliverySent] == crashAudience
	})
	recovery := time.Since(killed)
	second.stop()

	postID := crashPostID(h, store.PostSent)
	crashCheckLedger(t, h.db, postID, active)
	r := crashCheckMessages(t, h.smtp.Messages(), active, crashConnections)
	reclaimed := crashCountLines(second.log.String(), "msg=reclaimed_dead_lease")
	t.Logf("at the kill: %d messages at the server, %d recorded sent; after restart: %d messages, %d duplicates; "+
		"%d dead lease(s) reclaimed; all sent %s after the kill",
		atKill, recordedAtKill, r.total, r.duplicates, reclaimed, recovery.Round(100*time.Millisecond))
	t.Logf("after the kill:\n  %s", strings.Join(crashTimeline(second.log.String(), killed, crashRecoveryEvents), "\n  "))
	if reclaimed == 0 {
		t.Errorf("the restarted worker reclaimed no dead leases; its log:\n%s", tail(second.log.String(), logLines()))
	}
}

// crashRecoveryEvents are the log messages that tell how a restart recovered.
var crashRecoveryEvents = []string{"reclaimed_dead_lease", "reconciled_at_start", "scheduler_leadership", "reconciled", "batch_sent"}

// crashTimeline picks the lines of a text log whose message is one of msgs
// and writes each with its offset from since; runs of one message at one
// moment (a lease per batch, a batch_sent per batch) become one line.
func crashTimeline(log string, since time.Time, msgs []string) []string {
	var out []string
	last, n := "", 0
	flush := func() {
		if n > 1 {
			out[len(out)-1] = last + fmt.Sprintf(" ×%d", n)
		}
	}
	for _, l := range strings.Split(log, "\n") {
		stamp, rest, ok := strings.Cut(strings.TrimPrefix(l, "time="), " level=")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if !ok || err != nil {
			continue
		}
		for _, m := range msgs {
			_, attrs, ok := strings.Cut(rest, " msg="+m)
			if !ok || (attrs != "" && attrs[0] != ' ') {
				continue
			}
			head := fmt.Sprintf("%+.1fs %s", at.Sub(since).Seconds(), m)
			if head == last {
				n++
				continue
			}
			flush()
			last, n = head, 1
			out = append(out, head+attrs)
		}
	}
	flush()
	return out
}

// crashCountLines counts the lines of s containing sub.
func crashCountLines(s, sub string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// TestStopSIGTERMMidSend stops the worker as a supervisor or a deploy does,
// with SIGTERM, while it mails a post to 5,000 subscribers, then starts it
// again. The relay is slow (40 ms a message), so the batches under way
// outlast the worker's shutdown timeout (10 s) and are cancelled in the
// middle of sending. A graceful stop writes every outcome it has had from
// the server before it exits, and hands the rest back: nobody gets the post
// twice, and nobody is missed.
func TestStopSIGTERMMidSend(t *testing.T) {
	bin := crashBuildBinary(t)
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}, holdOver: 3})
	crashThrottleSMTP(h.smtp, 40*time.Millisecond)
	active := crashSeed(h)

	first := crashStart(h, bin)
	h.waitFor("the first poll", 30*time.Second, func() bool { return h.posts()[store.PostBaseline] == 1 })
	h.feed.set(postItem(1), postItem(2))
	h.waitFor("300 messages", 60*time.Second, func() bool { return h.smtp.Count() >= 300 })
	stopping := time.Now()
	first.stop()
	took := time.Since(stopping)
	atStop, recordedAtStop := h.smtp.Count(), h.deliveries()[store.DeliverySent]
	if atStop >= crashAudience {
		t.Fatalf("the stop came after the run: %d messages already sent", atStop)
	}
	if int64(atStop) != recordedAtStop {
		t.Errorf("after a graceful stop the server has %d messages and the ledger %d sent", atStop, recordedAtStop)
	}

	crashThrottleSMTP(h.smtp, 0)
	second := crashStart(h, bin)
	h.waitFor("5,000 sent in the ledger", 120*time.Second, func() bool {
		return h.deliveries()[store.DeliverySent] == crashAudience
	})
	second.stop()

	crashCheckLedger(t, h.db, crashPostID(h, store.PostSent), active)
	r := crashCheckMessages(t, h.smtp.Messages(), active, 0)
	t.Logf("stopped in %s; at the stop: %d messages at the server, %d recorded sent; after restart: %d messages, %d duplicates",
		took.Round(100*time.Millisecond), atStop, recordedAtStop, r.total, r.duplicates)
}
