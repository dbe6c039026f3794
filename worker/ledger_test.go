package worker

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// patience bounds each wait of these tests for a signal.
const patience = time.Minute

// waitUntil polls cond until it holds, failing the test after patience.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", patience, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// failingDisk is a SQLite database whose outcome writes fail on cue, as
// on a disk gone read-only or full: a trigger refuses every append to the
// outcomes journal while the fault table has a row.
type failingDisk struct {
	t   *testing.T
	raw *sql.DB
}

func newFailingDisk(t *testing.T) (*store.DB, *failingDisk) {
	t.Helper()
	url := storetest.URL(t, "sqlite")
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(url, "sqlite:")+"?_pragma=busy_timeout(15000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	for _, q := range []string{`CREATE TABLE test_fault (on_ INTEGER)`,
		`CREATE TRIGGER test_fault_outcomes BEFORE INSERT ON outcomes WHEN EXISTS (SELECT 1 FROM test_fault)
		BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return db, &failingDisk{t: t, raw: raw}
}

func (d *failingDisk) fail(on bool) {
	q := `DELETE FROM test_fault`
	if on {
		q = `INSERT INTO test_fault VALUES (1)`
	}
	if _, err := d.raw.Exec(q); err != nil {
		d.t.Error(err)
	}
}

// seedBatches seeds a post and people subscribers, written in batches of size.
func seedBatches(t *testing.T, db *store.DB, people, size int) []store.BatchRef {
	t.Helper()
	ctx := context.Background()
	if err := db.SyncFeeds(ctx, []store.FeedSpec{{Name: "blog", URL: "https://blog.example/feed"}}); err != nil {
		t.Fatal(err)
	}
	f, err := db.FeedByName(ctx, "blog")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := db.SavePoll(ctx, f.ID, store.PollOutcome{Next: time.Now(), New: []store.Post{{
		Key: "guid:1", Title: "Hello", URL: "https://blog.example/1", Content: "<p>Hi</p>", Hash: "h"}}})
	if err != nil || len(ids) != 1 {
		t.Fatalf("save poll: %v %v", ids, err)
	}
	for i := range people {
		if _, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: fmt.Sprintf("p%d@example.com", i), Confirmed: true}); err != nil {
			t.Fatal(err)
		}
	}
	var out []store.BatchRef
	for {
		page, err := db.FanOut(ctx, store.KindPost, ids[0], store.TopicPosts, size)
		if err != nil {
			t.Fatal(err)
		}
		if page.Done {
			return out
		}
		out = append(out, page.Batch)
	}
}

// The database failing under the senders (here: every outcome write
// refused from the tenth message on) stops every sender before its next
// message, not each only after its own write fails: at most
// smtp.connections messages go out unrecorded, and those outcomes are
// written once the database is back. The failure is logged once. When
// writes succeed again the senders go on by themselves, and everyone gets
// the post exactly once.
func TestFailedOutcomeWriteStopsEverySender(t *testing.T) {
	db, disk := newFailingDisk(t)
	db.RecordGroup = 1
	batches := seedBatches(t, db, 40, 5)
	srv := mailtest.NewServer(t)
	var mu sync.Mutex
	seen := 0
	srv.SetDataHook(func([]string) *smtp.SMTPError {
		mu.Lock()
		defer mu.Unlock()
		if seen++; seen == 10 {
			disk.fail(true) // before the server answers: this outcome's write fails
		}
		return nil
	})
	const conns = 2
	w := smtpWorker(t, db, srv.URL, conns, mail.Options{})
	w.Options.InFlight, w.inFlight = conns, make(chan struct{}, conns)
	logs := &logRecords{}
	w.Log = slog.New(logs)

	done := make(chan error, len(batches))
	var returned atomic.Int64
	for _, b := range batches {
		go func() {
			err := w.handleDeliver(context.Background(), deliverTask(b))
			returned.Add(1)
			done <- err
		}()
	}
	probes := func() int {
		w.ledger.mu.Lock()
		defer w.ledger.mu.Unlock()
		return w.ledger.probes
	}
	// Stopped: the senders wait while the database is probed (or, as
	// before the guard, they have given up).
	waitUntil(t, "the senders to stop", func() bool { return probes() >= 2 || returned.Load() == int64(len(batches)) })
	sentWhileDown := srv.Count()
	c, err := db.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if unrecorded := int64(sentWhileDown) - c.Deliveries[store.DeliverySent]; unrecorded > conns {
		t.Errorf("%d messages sent and %d recorded: %d unrecorded, want at most %d (smtp.connections)",
			sentWhileDown, c.Deliveries[store.DeliverySent], unrecorded, conns)
	}
	waitUntil(t, "two more probes", func() bool { return probes() >= 4 })
	if srv.Count() != sentWhileDown {
		t.Fatalf("%d messages went out while outcomes could not be written", srv.Count()-sentWhileDown)
	}

	disk.fail(false)
	for range batches {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("a sender: %v", err)
			}
		case <-time.After(patience):
			t.Fatalf("senders still waiting %v after the database came back", patience)
		}
	}
	got := perRecipient(srv)
	for i := range 40 {
		if to := fmt.Sprintf("p%d@example.com", i); got[to] != 1 {
			t.Errorf("%s got %d messages", to, got[to])
		}
	}
	c, err = db.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Deliveries[store.DeliverySent] != 40 {
		t.Errorf("ledger %v, want 40 sent", c.Deliveries)
	}
	if logs.count("outcome_writes_failing") != 1 || logs.count("outcome_writes_recovered") != 1 {
		t.Errorf("logged %d outcome_writes_failing and %d outcome_writes_recovered, want one each",
			logs.count("outcome_writes_failing"), logs.count("outcome_writes_recovered"))
	}
}

// Wait with a handler that outlasts it returns false and leaves nothing
// running behind: before, each timed-out Wait left a goroutine waiting
// for the handler.
func TestWaitLeavesNoGoroutineBehind(t *testing.T) {
	w := New(storetest.Open(t, "sqlite"), Options{})
	release, started := make(chan struct{}), make(chan struct{})
	h := w.tracked(func(context.Context, *asynq.Task) error {
		close(started)
		<-release
		return nil
	})
	finished := make(chan struct{})
	go func() { _ = h(context.Background(), nil); close(finished) }()
	<-started
	before := runtime.NumGoroutine()
	const waits = 20
	for range waits {
		if w.Wait(time.Millisecond) {
			t.Fatal("Wait reported the handlers done while one runs")
		}
	}
	if after := runtime.NumGoroutine(); after-before >= waits/2 {
		t.Errorf("%d goroutines before %d timed-out Waits, %d after", before, waits, after)
	}
	close(release)
	<-finished
	if !w.Wait(patience) {
		t.Fatal("Wait after the handler returned: false")
	}
}
