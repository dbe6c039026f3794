package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/feeds"
	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// sender sends one prepared message to one recipient and returns the server's
// reply, calling gate just before the message can be delivered. It also
// keeps to the global send rate. It is mail.Sender's SendReply, and keeps
// its promise: a send cancelled after its end-of-data dot still returns the
// server's verdict, which the worker records.
type sender interface {
	SendReply(ctx context.Context, from, to string, msg *mail.Prepared, r mail.Recipient, gate mail.Gate) (string, error)
}

// Practice is what the worker needs to know about the practice to write email.
type Practice struct {
	Name          string
	From          string // "Name <address>"
	ReplyTo       string
	PostalAddress string
	TimeZone      *time.Location
	// BaseURL is practice.base_url: named in each post's line saying why
	// the reader gets it, and the host of its List-Id.
	BaseURL string
}

// Options tune the worker; zero values take the defaults.
type Options struct {
	BatchSize   int           // ledger rows per send task [500]
	Lease       time.Duration // how long a sender holds rows without renewing [30s]
	RetryBase   time.Duration // first retry delay after a temporary failure [1m]
	RetryMax    time.Duration // longest retry delay [6h]
	MaxAttempts int           // tries before a temporarily failing delivery is failed [10]
	// InFlight is how many messages may be sent but not yet recorded at
	// once, across all send tasks of the process: a crash duplicates at
	// most this many. Set it to smtp.connections. [4]
	InFlight int
	// InquiryRetention is inquiries.retention: inquiry messages older
	// than this are deleted by the retention task.
	// [config.DefaultInquiryRetention]
	InquiryRetention time.Duration
}

func (o Options) withDefaults() Options {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Minute
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 6 * time.Hour
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.InFlight <= 0 {
		o.InFlight = 4
	}
	if o.InquiryRetention <= 0 {
		o.InquiryRetention = config.DefaultInquiryRetention
	}
	return o
}

// Worker holds what the task handlers share.
type Worker struct {
	DB        *store.DB
	Queue     *asynq.Client
	Inspector *asynq.Inspector
	Fetcher   *feeds.Fetcher
	Mail      sender
	Templates *templates.Engine
	Links     *links.Signer
	Practice  Practice
	// Inquiries is what the inquiry and sequence tasks need.
	Inquiries Inquiries
	Log       *slog.Logger
	Options   Options
	// Instance is this database's ID (store.DB.InstanceID), part of every
	// Message-ID and task ID.
	Instance string

	identity    identity
	prepared    preparedCache
	outageSince atomic.Int64  // unix ns when the mail server stopped answering; 0 when it answers
	inFlight    chan struct{} // slots for sent-but-unrecorded messages (Options.InFlight)
	ledger      *ledgerGuard  // stops every sender while outcomes cannot be written
	// onWritten and onWrittenFree are handed to the recorder with each
	// outcome (store.DB.RecordAsync); onWrittenFree also frees the
	// outcome's in-flight slot. Made once, not per message.
	onWritten, onWrittenFree func(*store.Recording)
	stopping                 chan struct{} // closed by Stop: start no more messages
	stopOnce                 sync.Once
	running                  handlers // handlers under way, for Wait
	signupTasks              signupTasks
	// renewHook replaces lease renewal in tests of a sender whose renewals fail.
	renewHook func(ctx context.Context, b store.BatchRef, owner string, until time.Time) (int64, error)
}

// New returns a Worker on db, and tunes db's recorder for its in-flight
// messages, each of which may have an outcome waiting to be written
// (store.DB.SetSenders). Fill the exported fields it leaves nil before use.
func New(db *store.DB, o Options) *Worker {
	o = o.withDefaults()
	db.SetSenders(o.InFlight)
	w := &Worker{DB: db, Options: o, identity: process, Log: slog.Default(),
		inFlight: make(chan struct{}, o.InFlight), stopping: make(chan struct{})}
	w.ledger = &ledgerGuard{w: w}
	w.onWritten = w.ledger.written
	w.onWrittenFree = func(r *store.Recording) {
		w.ledger.written(r) // before the slot is free: see ledgerGuard.failed
		<-w.inFlight
	}
	return w
}

// Stop asks the handlers to start no more messages: each finishes the one it
// is sending, writes its outcome, hands the rest of its batch back to the
// queue and returns. Call it before asynq's Server.Shutdown, which gives
// handlers a while before it cancels them.
func (w *Worker) Stop() { w.stopOnce.Do(func() { close(w.stopping) }) }

// Wait waits up to timeout for the handlers under way to return, and
// reports whether they all did. asynq's Shutdown returns as soon as it has
// cancelled a handler, without waiting for it: a handler cancelled after
// its message's end-of-data dot still waits for the server's reply and
// writes the outcome, and the process must not exit under it.
func (w *Worker) Wait(timeout time.Duration) bool {
	idle := w.running.idle()
	if idle == nil {
		return true
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}

// now is the time by the process's one clock, its database's (store.DB.Now):
// lease expiries and retry times are compared with it in SQL, and a test
// that moves it moves the worker, the scheduler and the reconciler too.
func (w *Worker) now() time.Time { return w.DB.Now() }

// tracked counts a handler in w.running while it runs.
func (w *Worker) tracked(h asynq.HandlerFunc) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		w.running.add()
		defer w.running.done()
		return h(ctx, t)
	}
}

// handlers counts the handlers under way. Unlike a sync.WaitGroup, it
// can be waited on with a timeout without a goroutine that outlives the
// wait.
type handlers struct {
	mu      sync.Mutex
	n       int
	idleNow chan struct{} // closed when n drops to 0; nil while n is 0
}

func (h *handlers) add() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		h.idleNow = make(chan struct{})
	}
	h.n++
}

func (h *handlers) done() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n--; h.n == 0 {
		close(h.idleNow)
		h.idleNow = nil
	}
}

// idle returns a channel closed once no handler runs, or nil if none does.
func (h *handlers) idle() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return nil
	}
	return h.idleNow
}

// identity names this process in lease owners: host/pid/boot, plus a nonce per
// claim. A restarted process can tell its predecessor's rows from live ones.
type identity struct {
	host string
	pid  int
	boot string
}

// process is this process's identity, shared by every Worker in it: two
// workers of one process must not take each other for a dead predecessor.
var process = newIdentity()

func newIdentity() identity {
	host, _ := os.Hostname()
	return identity{host: host, pid: os.Getpid(), boot: randomHex(4)}
}

func (id identity) owner() string {
	return fmt.Sprintf("%s/%d/%s/%s", id.host, id.pid, id.boot, randomHex(6))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// preparedCache keeps recently rendered messages: a post's 200 send tasks
// render it once, not 200 times.
type preparedCache struct {
	mu      sync.Mutex
	entries map[store.BatchRef]*mail.Prepared // keyed with Batch 0
	order   []store.BatchRef
}

const preparedCacheSize = 8

func (c *preparedCache) get(k store.BatchRef) *mail.Prepared {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[k]
}

func (c *preparedCache) put(k store.BatchRef, p *mail.Prepared) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[store.BatchRef]*mail.Prepared)
	}
	if _, ok := c.entries[k]; !ok {
		c.order = append(c.order, k)
	}
	c.entries[k] = p
	if len(c.order) > preparedCacheSize {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

// backoff is the delay before attempt n+1 after n failed attempts.
func (o Options) backoff(n int) time.Duration {
	d := o.RetryBase
	for i := 1; i < n && d < o.RetryMax; i++ {
		d *= 3
	}
	return min(d, o.RetryMax)
}
