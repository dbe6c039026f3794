package worker

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/crisis"
	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/logtest"
	"github.com/practicemail/practicemail/internal/mail"
	"github.com/practicemail/practicemail/internal/mail/mailtest"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/seal"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
	"github.com/practicemail/practicemail/sequences"
)

// phrase is what a person wrote that must never leave the database sealed,
// except in the practice's notification.
const phrase = "the marmalade lighthouse hums at quarter past nine"

const (
	notifyTo = "intake@stillpoint.example"
	booking  = "https://book.stillpoint.example/consult"
	practice = "hello@stillpoint.example"
)

// testSequence is a sequence "inquiry" of three steps, at 0s, 2s and 4s,
// open at every hour, written where LoadDir reads it.
const testSequence = `name: inquiry
steps:
  - after: 0s
    template: inquiry/thanks
    subject: "Thanks for reaching out"
  - after: 2s
    template: inquiry/protection
    subject: "Something we often hear"
  - after: 4s
    template: inquiry/first-session
    subject: "What a first session looks like"
`

// inquiryRig is a worker running its tasks on real Redis, sending to a real
// SMTP server, with a sealer and the test sequence.
type inquiryRig struct {
	w      *Worker
	db     *store.DB
	smtp   *mailtest.Server
	rdb    *redis.Client
	sealer *seal.Sealer
	logs   *logtest.Buffer
}

func newInquiryRig(t *testing.T, db *store.DB) *inquiryRig {
	t.Helper()
	srv := mailtest.NewServer(t)
	w := smtpWorker(t, db, srv.URL, 2, mail.Options{})
	logs := &logtest.Buffer{}
	w.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.Practice.ReplyTo = practice
	rdb := redistest.Client(t, redistest.Worker)
	w.Inspector = asynq.NewInspectorFromRedisClient(rdb)
	sealer, err := seal.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "inquiry.yaml"), []byte(testSequence), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := sequences.LoadDir(dir, sequences.Options{HasTemplate: w.Templates.Has})
	if err != nil {
		t.Fatal(err)
	}
	w.Inquiries = Inquiries{Opener: sealer, Sequences: set, NotifyEmail: notifyTo, BookingURL: booking}
	return &inquiryRig{w: w, db: db, smtp: srv, rdb: rdb, sealer: sealer, logs: logs}
}

// start runs the worker's asynq server until the test ends.
func (r *inquiryRig) start(t *testing.T) {
	t.Helper()
	srv, err := r.w.Start(r.rdb, ServerOptions{Concurrency: 4, QueuePoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.w.Stop(); srv.Shutdown() })
}

// inquire saves an inquiry as the web does and, if enqueue, enqueues it.
func (r *inquiryRig) inquire(t *testing.T, email, message string, enqueue bool) store.SavedInquiry {
	t.Helper()
	cl, err := crisis.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.db.SaveInquiry(context.Background(), store.NewInquiry{
		Contact: store.NewContact{Email: email, Name: "Sam", TimeZone: "America/Denver", Consent: true},
		Message: message, PreferredTime: "evenings", Urgent: cl.Urgent(message)}, r.sealer)
	if err != nil {
		t.Fatal(err)
	}
	if enqueue {
		if err := r.w.EnqueueInquiry(context.Background(), s.InquiryID); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// to returns the messages the SMTP server took for address, parsed, in order.
func (r *inquiryRig) to(t *testing.T, address string) []mailtest.Parsed {
	return messagesTo(t, r.smtp, address)
}

// subjects returns the subjects of the messages to address.
func (r *inquiryRig) subjects(t *testing.T, address string) []string {
	var out []string
	for _, p := range r.to(t, address) {
		out = append(out, p.Header.Get("Subject"))
	}
	return out
}

// waitFor waits until cond holds, failing after 15s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// stepDone reports whether scheduled step id's task has run.
func (r *inquiryRig) stepDone(t *testing.T, id int64) bool {
	m, err := r.db.StepToSend(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m.Done
}

var unsubscribeLink = regexp.MustCompile(`^<https://mail\.example/unsubscribe/([A-Za-z0-9_-]{40})>$`)

// An inquiry: the person's acknowledgement and the practice's notification
// go out at once; step 2 arrives on time; once the person books, step 3
// never arrives. Every step carries crisis resources, the booking link, a
// Reply-To of the practice and a List-Unsubscribe whose token stops this
// contact's sequences.
func TestInquiryAcknowledgesNotifiesAndStopsOnBooking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newInquiryRig(t, db)
		r.start(t)
		saved := r.inquire(t, "ana@example.org", "Hello, "+phrase+". Could we talk?", true)

		waitFor(t, "the acknowledgement and the notification", func() bool {
			return len(r.to(t, "ana@example.org")) == 1 && len(r.to(t, notifyTo)) == 1
		})
		n := r.to(t, notifyTo)[0]
		if got := n.Header.Get("Subject"); got != "New inquiry" {
			t.Errorf("notification subject = %q", got)
		}
		if !strings.Contains(n.TextPart, phrase) || !strings.Contains(n.TextPart, "ana@example.org") ||
			!strings.Contains(n.TextPart, "evenings") || !strings.Contains(n.Header.Get("Reply-To"), "ana@example.org") {
			t.Errorf("notification lacks the message, address, preferred time or Reply-To:\n%s", n.TextPart)
		}
		ack := r.to(t, "ana@example.org")[0]
		checkStepEmail(t, r, ack, "Thanks for reaching out", saved.ContactID)

		waitFor(t, "step 2", func() bool { return len(r.to(t, "ana@example.org")) == 2 })
		checkStepEmail(t, r, r.to(t, "ana@example.org")[1], "Something we often hear", saved.ContactID)
		if _, err := db.StopEnrollments(ctx, "ana@example.org", store.ContactBooked); err != nil {
			t.Fatal(err)
		}
		const step3 = 3 // enrollment_steps ids: the one enrollment's steps, in order
		waitFor(t, "step 3's task", func() bool { return r.stepDone(t, step3) })
		rows, err := db.Deliveries(ctx, store.KindStep, step3)
		if err != nil || len(rows) != 0 {
			t.Fatalf("step 3 ledger = %+v, %v; want no row for a booked person", rows, err)
		}
		if got := r.subjects(t, "ana@example.org"); len(got) != 2 {
			t.Fatalf("ana got %q, want the acknowledgement and step 2 only", got)
		}
	})
}

// checkStepEmail checks what every sequence email carries.
func checkStepEmail(t *testing.T, r *inquiryRig, p mailtest.Parsed, subject string, contactID int64) {
	t.Helper()
	h := p.Header
	if got := h.Get("Subject"); got != subject {
		t.Errorf("subject = %q, want %q", got, subject)
	}
	for _, part := range []string{p.TextPart, p.HTMLPart} {
		if !strings.Contains(part, "988") || !strings.Contains(part, booking) {
			t.Errorf("%q lacks crisis resources (988) or the booking link:\n%s", subject, part)
		}
	}
	if !strings.Contains(h.Get("Reply-To"), practice) {
		t.Errorf("%q: Reply-To = %q, want the practice", subject, h.Get("Reply-To"))
	}
	m := unsubscribeLink.FindStringSubmatch(h.Get("List-Unsubscribe"))
	if m == nil || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("%q: List-Unsubscribe = %q", subject, h.Get("List-Unsubscribe"))
	}
	if id, err := r.w.Links.Verify(links.StopSequence, m[1]); err != nil || id != contactID {
		t.Errorf("%q: token verifies as contact %d, %v; want %d", subject, id, err, contactID)
	}
}

// A second inquiry from someone in the sequence notifies the practice
// again and starts nothing: one acknowledgement, three steps in all.
func TestSecondInquiryNotifiesAgainWithoutSecondEnrollment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newInquiryRig(t, db)
		r.start(t)
		r.inquire(t, "ben@example.org", "First note.", true)
		waitFor(t, "the first acknowledgement", func() bool { return len(r.to(t, "ben@example.org")) == 1 })
		second := r.inquire(t, "ben@example.org", "Second note.", true)
		if !second.Enrolled {
			t.Fatal("the second inquiry found no active enrollment")
		}
		waitFor(t, "every step", func() bool { return len(r.to(t, "ben@example.org")) == 3 && len(r.to(t, notifyTo)) == 2 })
		waitFor(t, "the sequence's end", func() bool {
			open, err := db.OpenSteps(ctx, time.Now().Add(time.Hour))
			return err == nil && len(open) == 0
		})
		if _, err := db.StepToSend(ctx, 4); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a fourth step was scheduled: %v", err)
		}
		want := []string{"Thanks for reaching out", "Something we often hear", "What a first session looks like"}
		if got := r.subjects(t, "ben@example.org"); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("ben got %q, want %q", got, want)
		}
	})
}
