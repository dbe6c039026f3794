package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
	"github.com/practicemail/practicemail/templates"
)

// sendLog records every send of every worker, in order, with its time span.
type sendLog struct {
	mu    sync.Mutex
	sends []sendRecord
}

type sendRecord struct {
	worker, to string
	start, end time.Time
}

// fakeSender is a sender whose speed the test sets: it stands in for an SMTP
// server only to make a send slow at an exact moment.
type fakeSender struct {
	name  string
	log   *sendLog
	delay func(to string) time.Duration
}

func (f *fakeSender) SendReply(ctx context.Context, from, to string, msg *mail.Prepared, r mail.Recipient, gate mail.Gate) (string, error) {
	if _, err := msg.AppendTo(nil, r); err != nil {
		return "", err
	}
	if err := gate(ctx); err != nil {
		return "", err
	}
	start := time.Now()
	time.Sleep(f.delay(to)) // past the gate, a send is not cancelled (mail.Sender)
	f.log.mu.Lock()
	f.log.sends = append(f.log.sends, sendRecord{f.name, to, start, time.Now()})
	f.log.mu.Unlock()
	return "250 ok", nil
}

func (l *sendLog) perRecipient() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, s := range l.sends {
		out[s.to]++
	}
	return out
}

// wantEachOnce fails the test unless n recipients got exactly one message each.
func (l *sendLog) wantEachOnce(t *testing.T, n int) {
	t.Helper()
	counts := l.perRecipient()
	if len(counts) != n {
		t.Fatalf("%d recipients reached, want %d", len(counts), n)
	}
	for to, got := range counts {
		if got != 1 {
			t.Errorf("%s got %d messages", to, got)
		}
	}
}

// testWorker returns a worker on db whose mail goes to a fakeSender.
func testWorker(t *testing.T, db *store.DB, q *asynq.Client, name string, log *sendLog, delay func(string) time.Duration) *Worker {
	t.Helper()
	eng, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := links.NewSigner("https://mail.example", []byte("0123456789abcdef0123"), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := New(db, Options{Lease: 600 * time.Millisecond, RetryBase: 100 * time.Millisecond})
	w.Queue, w.Templates, w.Links = q, eng, signer
	w.Mail = &fakeSender{name: name, log: log, delay: delay}
	w.Log = slog.New(slog.DiscardHandler)
	w.Practice = Practice{Name: "Stillpoint", From: "Stillpoint <hello@stillpoint.example>", PostalAddress: "1 Main St", TimeZone: time.UTC}
	return w
}

// batchOf20 seeds a post and 20 subscribers and writes them as one batch.
func batchOf20(t *testing.T, db *store.DB) store.BatchRef {
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
	for i := range 20 {
		if _, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: fmt.Sprintf("p%d@example.com", i), Confirmed: true}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := db.FanOut(ctx, store.KindPost, ids[0], store.TopicPosts, 100)
	if err != nil {
		t.Fatal(err)
	}
	return page.Batch
}

func testQueue(t *testing.T) *asynq.Client {
	t.Helper()
	return asynq.NewClientFromRedisClient(redistest.DB(t, redistest.Worker))
}

func deliverTask(b store.BatchRef) *asynq.Task { return NewDeliverTask("", b, "") }

// A sender stuck on one slow message keeps renewing its lease: another
// sender trying the same batch meanwhile gets nothing, and everyone gets
// exactly one message.
func TestSlowLiveSenderKeepsItsBatch(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	q := testQueue(t)
	b := batchOf20(t, db)
	log := &sendLog{}
	a := testWorker(t, db, q, "a", log, func(to string) time.Duration {
		if to == "p3@example.com" {
			return 1500 * time.Millisecond // 2.5 leases
		}
		return 5 * time.Millisecond
	})
	other := testWorker(t, db, q, "b", log, func(string) time.Duration { return 5 * time.Millisecond })
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- a.handleDeliver(ctx, deliverTask(b)) }()
	time.Sleep(100 * time.Millisecond)
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("a: %v", err)
			}
			running = false
		case <-time.After(50 * time.Millisecond):
			if err := other.handleDeliver(ctx, deliverTask(b)); err != nil {
				t.Fatalf("b: %v", err)
			}
		}
	}
	for to, n := range log.perRecipient() {
		if n != 1 {
			t.Errorf("%s got %d messages", to, n)
		}
	}
	for _, s := range log.sends {
		if s.worker != "a" {
			t.Fatalf("b sent to %s while a held the batch", s.to)
		}
	}
	if len(log.sends) != 20 {
		t.Fatalf("%d sends, want 20", len(log.sends))
	}
}

// A sender whose lease renewals fail stops before its lease runs out in SQL,
// so the sender that takes the batch over never overlaps with it.
func TestSenderWithFailingRenewalsStopsBeforeTakeover(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	q := testQueue(t)
	b := batchOf20(t, db)
	log := &sendLog{}
	a := testWorker(t, db, q, "a", log, func(string) time.Duration { return 60 * time.Millisecond })
	a.renewHook = func(context.Context, store.BatchRef, string, time.Time) (int64, error) {
		return 0, errors.New("database unreachable")
	}
	other := testWorker(t, db, q, "b", log, func(string) time.Duration { return 5 * time.Millisecond })
	ctx := context.Background()
	if err := a.handleDeliver(ctx, deliverTask(b)); err != nil {
		t.Fatalf("a: %v", err)
	}
	aSent := len(log.sends)
	if aSent == 0 || aSent == 20 {
		t.Fatalf("a sent %d of 20 with a 600ms lease it could not renew; want it to stop part-way", aSent)
	}
	if err := other.handleDeliver(ctx, deliverTask(b)); err != nil {
		t.Fatalf("b: %v", err)
	}
	var lastA, firstB time.Time
	for _, s := range log.sends {
		if s.worker == "a" && s.end.After(lastA) {
			lastA = s.end
		}
		if s.worker == "b" && (firstB.IsZero() || s.start.Before(firstB)) {
			firstB = s.start
		}
	}
	if !firstB.After(lastA) {
		t.Fatalf("b started sending at %v, before a's last send ended at %v", firstB, lastA)
	}
	log.wantEachOnce(t, 20)
}

func TestDeadOnThisHost(t *testing.T) {
	me := identity{host: "h1", pid: os.Getpid(), boot: "aaaa"}
	for owner, want := range map[string]bool{
		fmt.Sprintf("h1/%d/aaaa/x", os.Getpid()):  false, // this very process
		fmt.Sprintf("h1/%d/bbbb/x", os.Getpid()):  true,  // an earlier life of our PID (container PID 1)
		"h1/999999999/cccc/x":                     true,  // no such process
		fmt.Sprintf("h1/%d/cccc/x", os.Getppid()): false, // alive: our parent
		"h2/999999999/cccc/x":                     false, // another host: wait for the lease
		"garbage":                                 false,
	} {
		if got := me.deadOnThisHost(owner); got != want {
			t.Errorf("deadOnThisHost(%q) = %v, want %v", owner, got, want)
		}
	}
}

// Each recipient is checked again at send time: someone who unsubscribed or
// bounced after the fan-out wrote their row gets nothing, and the row says so.
func TestSendTimeCheckSuppresses(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	q := testQueue(t)
	b := batchOf20(t, db)
	ctx := context.Background()
	for _, e := range []string{"p4@example.com", "p11@example.com"} {
		s, err := db.SubscriberByEmail(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetSubscriberStatus(ctx, s.ID, store.StatusUnsubscribed); err != nil {
			t.Fatal(err)
		}
	}
	log := &sendLog{}
	w := testWorker(t, db, q, "a", log, func(string) time.Duration { return 0 })
	if err := w.handleDeliver(ctx, deliverTask(b)); err != nil {
		t.Fatal(err)
	}
	got := log.perRecipient()
	if len(got) != 18 || got["p4@example.com"] != 0 || got["p11@example.com"] != 0 {
		t.Fatalf("sent to %d people (%v); want 18, not the two who left", len(got), got)
	}
	rows, err := db.Deliveries(ctx, b.Kind, b.SourceID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		want := store.DeliverySent
		if r.Recipient == "p4@example.com" || r.Recipient == "p11@example.com" {
			want = store.DeliverySuppressed
		}
		if r.State != want {
			t.Errorf("%s: %s, want %s", r.Recipient, r.State, want)
		}
	}
}

// A task cancelled while the server holds a message whose end-of-data dot
// has gone out still waits for the reply and records the message sent: given
// up, it would go back to the queue and be sent again. The rest of the batch
// goes back untried, and a later run sends each of them once.
func TestCancelAfterTheDotStillRecordsTheSend(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	q := testQueue(t)
	b := batchOf20(t, db)
	log := &sendLog{}
	atP3 := make(chan struct{})
	a := testWorker(t, db, q, "a", log, func(to string) time.Duration {
		if to == "p3@example.com" {
			close(atP3) // its dot is out: the server is deciding
			return 300 * time.Millisecond
		}
		return 5 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.handleDeliver(ctx, deliverTask(b)) }()
	<-atP3
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled task returned %v, want context.Canceled", err)
	}
	sentBefore := len(log.sends)
	rows, err := db.Deliveries(context.Background(), b.Kind, b.SourceID)
	if err != nil {
		t.Fatal(err)
	}
	recorded := 0
	for _, r := range rows {
		if r.State == store.DeliverySent {
			recorded++
		}
		if r.Recipient == "p3@example.com" && r.State != store.DeliverySent {
			t.Errorf("the message accepted after the cancel is %s in the ledger, want sent", r.State)
		}
	}
	if recorded != sentBefore || sentBefore == 20 {
		t.Fatalf("%d messages reached the server and %d are recorded sent (of 20)", sentBefore, recorded)
	}
	other := testWorker(t, db, q, "b", log, func(string) time.Duration { return time.Millisecond })
	if err := other.handleDeliver(context.Background(), deliverTask(b)); err != nil {
		t.Fatal(err)
	}
	log.wantEachOnce(t, 20)
}

// Stop lets the message under way finish and be recorded, then the task
// hands the rest back, schedules the batch's next round, and succeeds (a
// failed task would wait out asynq's retry delay).
func TestStopHandsTheRestBack(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	q := testQueue(t)
	b := batchOf20(t, db)
	log := &sendLog{}
	var a *Worker
	a = testWorker(t, db, q, "a", log, func(to string) time.Duration {
		if to == "p5@example.com" {
			a.Stop()
		}
		return 5 * time.Millisecond
	})
	a.Inspector = asynq.NewInspectorFromRedisClient(redistest.Client(t, redistest.Worker))
	if err := a.handleDeliver(context.Background(), deliverTask(b)); err != nil {
		t.Fatalf("a stopped task returned %v, want success", err)
	}
	if !a.Wait(time.Second) {
		t.Fatal("Wait: handlers still running")
	}
	c, err := db.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if int(c.Deliveries[store.DeliverySent]) != len(log.sends) || len(log.sends) == 20 || c.Deliveries[store.DeliveryQueued] == 0 {
		t.Fatalf("after Stop: %d sent, ledger %v; want what was sent recorded and the rest queued", len(log.sends), c.Deliveries)
	}
	tasks, err := a.Inspector.ListPendingTasks(QueueMail)
	if err != nil {
		t.Fatal(err)
	}
	scheduled, err := a.Inspector.ListScheduledTasks(QueueMail)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks)+len(scheduled) != 1 {
		t.Fatalf("%d pending and %d scheduled send tasks after Stop, want the batch's next round", len(tasks), len(scheduled))
	}
}

// refusingSender fails every send the same way, as a mail server that
// refuses all mail does.
type refusingSender struct {
	err   *mail.SendError
	sends int
}

func (f *refusingSender) SendReply(ctx context.Context, from, to string, msg *mail.Prepared, r mail.Recipient, gate mail.Gate) (string, error) {
	f.sends++
	return "", f.err
}

// A failure of the server's or of our own setup (no answer, 421, a refused
// login or MAIL FROM) charges nobody an attempt: the batch stops at the
// first one and waits out the outage. A refusal of one recipient (450 to
// RCPT) is that recipient's retry.
func TestServerWideFailuresChargeNobody(t *testing.T) {
	for _, tt := range []struct {
		name       string
		err        *mail.SendError
		serverWide bool
	}{
		{"no answer", &mail.SendError{Stage: "data", Temporary: true, MaybeDelivered: true, Err: errors.New("EOF")}, true},
		{"421 to RCPT", &mail.SendError{Stage: "rcpt", Code: 421, Temporary: true, Err: errors.New("closing")}, true},
		{"535 login refused", &mail.SendError{Stage: "connect", Code: 535, Temporary: true, Err: errors.New("bad credentials")}, true},
		{"550 sender refused", &mail.SendError{Stage: "mail", Code: 550, Temporary: true, Err: errors.New("not allowed")}, true},
		{"450 mailbox busy", &mail.SendError{Stage: "rcpt", Code: 450, Temporary: true, Err: errors.New("busy")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := storetest.Open(t, "sqlite")
			q := testQueue(t)
			b := batchOf20(t, db)
			w := testWorker(t, db, q, "a", &sendLog{}, nil)
			refuse := &refusingSender{err: tt.err}
			w.Mail = refuse
			if err := w.handleDeliver(context.Background(), deliverTask(b)); err != nil {
				t.Fatal(err)
			}
			rows, err := db.Deliveries(context.Background(), b.Kind, b.SourceID)
			if err != nil {
				t.Fatal(err)
			}
			charged := 0
			for _, r := range rows {
				if r.State != store.DeliveryQueued {
					t.Fatalf("%s is %s, want queued", r.Recipient, r.State)
				}
				charged += r.Attempts
			}
			if tt.serverWide && (refuse.sends != 1 || charged != 0) {
				t.Errorf("%d sends tried and %d attempts charged; want the batch stopped at the first and nobody charged", refuse.sends, charged)
			}
			if !tt.serverWide && (refuse.sends != 20 || charged != 20) {
				t.Errorf("%d sends tried and %d attempts charged; want each recipient tried and charged once", refuse.sends, charged)
			}
		})
	}
}
