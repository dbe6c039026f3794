package main

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
)

// TestSMTPFaults sends a post to 100 subscribers through an SMTP server that
// refuses some of them for now, refuses some for good, or is down for a while.
// Sequential: every harness empties this package's Redis database.
func TestSMTPFaults(t *testing.T) {
	t.Run("4xx_retried", testTemporaryRefusals)
	t.Run("5xx_failed_not_retried", testPermanentRefusals)
	t.Run("server_down", testServerDown)
}

// TestBadInput feeds the program a broken configuration, broken feeds and a
// CSV file with bad rows: each gets a clear message, and nothing is lost.
func TestBadInput(t *testing.T) {
	t.Run("config", testBadConfig)
	t.Run("feed", testUnreadableFeed)
	t.Run("csv", testBadCSV)
}

// testTemporaryRefusals: a 451 to RCPT TO is retried, and the retry delivers.
func testTemporaryRefusals(t *testing.T) {
	h, emails := faultHarness(t, 100)
	busy := map[string]bool{}
	for i := 0; i < len(emails); i += 5 {
		busy[emails[i]] = true
	}
	rcpts := &faultRcpts{}
	h.smtp.SetRcptHook(rcpts.hook(func(to string, nth int) *smtp.SMTPError {
		if busy[to] && nth == 1 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "Mailbox busy, try again later"}
		}
		return nil
	}))
	it := faultPublish(h)
	h.waitFor("100 messages", 60*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 100 })
	h.waitPolls(2) // time for a duplicate to show
	checkMessages(t, h.smtp.Messages(), emails, it, h.feed.URL)
	rows := faultLedger(t, h)
	if len(rows) != 100 {
		t.Fatalf("ledger has %d rows, want 100", len(rows))
	}
	for _, d := range rows {
		want := 1
		if busy[d.Recipient] {
			want = 2
		}
		if d.State != store.DeliverySent || d.Attempts != want || rcpts.count(d.Recipient) != want {
			t.Errorf("%s: %s after %d attempt(s), %d RCPT(s); want sent after %d of each",
				d.Recipient, d.State, d.Attempts, rcpts.count(d.Recipient), want)
		}
	}
}

// testPermanentRefusals: a 550 to RCPT TO fails the delivery at once, with the
// reply recorded and a bounce stored, and is never tried again. A reply
// saying the mailbox does not exist (5.1.1) suppresses the address at once;
// one refusing the message (5.7.1, a policy block) is counted, and one
// such refusal, below store.BounceLimit, leaves the person subscribed.
func testPermanentRefusals(t *testing.T) {
	h, emails := faultHarness(t, 100)
	gone, blocked := map[string]bool{}, map[string]bool{}
	var others []string
	for i, e := range emails {
		switch i % 20 {
		case 0:
			gone[e] = true
		case 10:
			blocked[e] = true
		default:
			others = append(others, e)
		}
	}
	rcpts := &faultRcpts{}
	h.smtp.SetRcptHook(rcpts.hook(func(to string, _ int) *smtp.SMTPError {
		switch {
		case gone[to]:
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
		case blocked[to]:
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message refused by policy"}
		}
		return nil
	}))
	it := faultPublish(h)
	h.waitFor("90 sent and 10 failed", 60*time.Second, func() bool {
		d := h.deliveries()
		return d[store.DeliverySent] == 90 && d[store.DeliveryFailed] == 10
	})
	// Three polls, a second apart, are many retry rounds (RetryBase 200ms):
	// enough for a wrongly retried refusal to show.
	h.waitPolls(3)
	if d := cmp.Diff(map[string]int64{store.DeliverySent: 90, store.DeliveryFailed: 10}, h.deliveries()); d != "" {
		t.Fatalf("deliveries (-want +got):\n%s", d)
	}
	checkMessages(t, h.smtp.Messages(), others, it, h.feed.URL)
	for _, d := range faultLedger(t, h) {
		if !gone[d.Recipient] && !blocked[d.Recipient] {
			continue
		}
		if d.State != store.DeliveryFailed || d.Attempts != 1 || !strings.Contains(d.LastReply, "550") {
			t.Errorf("%s: %s after %d attempt(s), reply %q; want failed after 1, with the 550", d.Recipient, d.State, d.Attempts, d.LastReply)
		}
		if n := rcpts.count(d.Recipient); n != 1 {
			t.Errorf("%s was offered to the server %d times, want once", d.Recipient, n)
		}
		want := store.StatusActive
		if gone[d.Recipient] {
			want = store.StatusBounced
		}
		faultCheckOneBounce(t, h, d.Recipient, want)
	}
}

// faultCheckOneBounce asserts that one bounce was counted against email, and
// that the person's status is then want.
func faultCheckOneBounce(t *testing.T, h *harness, email, want string) {
	t.Helper()
	if n := faultBounces(t, h, email); n != 1 {
		t.Errorf("%s has %d bounces, want 1", email, n)
	}
	s, err := h.db.SubscriberByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != want {
		t.Errorf("%s is %s after one bounce, want %s", email, s.Status, want)
	}
}

// testServerDown: with the SMTP server gone, the sender backs off instead of
// spinning, gives nothing up, and delivers everything once it is back.
func testServerDown(t *testing.T) {
	h, emails := faultHarness(t, 100)
	o := h.main().WorkerOptions
	down := time.Now()
	h.smtp.Stop()
	logsBefore := len(h.logs.String())
	it := faultPublish(h)
	rounds := func() int { return faultLogCount(h.logs.String()[logsBefore:], "batch_sent") }
	h.waitFor("three tries against the stopped server", 30*time.Second, func() bool { return rounds() >= 3 })
	if rest := 4*time.Second - time.Since(down); rest > 0 {
		time.Sleep(rest)
	}
	elapsed, tries := time.Since(down), rounds()
	limit := faultMaxTries(elapsed, o.RetryBase, o.RetryMax)
	t.Logf("server down %s: %d send rounds; backoff allows %d", elapsed.Round(time.Millisecond), tries, limit)
	if tries > limit {
		t.Fatalf("in %s down: %d send rounds, more than the %d backoff allows", elapsed, tries, limit)
	}
	// The log says why nothing goes out, and when it tries again.
	if logs := h.logs.String()[logsBefore:]; faultLogCount(logs, "mail_server_unreachable") == 0 ||
		!strings.Contains(logs, "retry_in=") {
		t.Fatalf("no mail_server_unreachable line with retry_in in the log:\n%s", logs)
	}
	// The server was never reached: no row used up an attempt, so a long
	// outage fails nobody.
	if most := faultMostAttempts(t, h); most != 0 {
		t.Fatalf("after an outage a row shows %d attempts, want 0", most)
	}
	if d := h.deliveries(); d[store.DeliverySent] != 0 || d[store.DeliveryFailed] != 0 {
		t.Fatalf("while the server was down: deliveries %v, want none sent or failed", d)
	}

	h.smtp.Start()
	h.waitFor("100 messages", 60*time.Second, func() bool { return h.deliveries()[store.DeliverySent] == 100 })
	h.waitPolls(2) // time for a duplicate to show
	checkMessages(t, h.smtp.Messages(), emails, it, h.feed.URL)
	if d := cmp.Diff(map[string]int64{store.DeliverySent: 100}, h.deliveries()); d != "" {
		t.Fatalf("deliveries (-want +got):\n%s", d)
	}
}
