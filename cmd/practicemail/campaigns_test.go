package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// addNews adds n confirmed subscribers of news, prefix-i@example.com, 500
// a transaction, and returns their addresses.
func (h *harness) addNews(prefix string, n int) []string {
	h.t.Helper()
	var emails []string
	var batch []store.NewSubscriber
	for i := range n {
		e := fmt.Sprintf("%s-%d@example.com", prefix, i)
		emails = append(emails, e)
		batch = append(batch, store.NewSubscriber{Email: e, Name: fmt.Sprintf("Person%d Test", i),
			Topics: []string{store.TopicNews}, Confirmed: true, ConsentSource: "test"})
		if len(batch) == 500 || i == n-1 {
			if _, err := h.db.AddSubscribers(context.Background(), batch); err != nil {
				h.t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return emails
}

// campaignBody writes a Markdown body and returns its path.
func (h *harness) campaignBody() string {
	h.t.Helper()
	path := filepath.Join(h.dir, "openings.md")
	body := "Hello {{first_name|Friend}},\n\nFour consult openings in January at {{practice_name}}.\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// campaignCounts is a campaign's counts as the ledger has them.
func (h *harness) campaignCounts(id int64) (*store.Campaign, store.CampaignCounts) {
	h.t.Helper()
	c, err := h.db.Campaign(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	counts, err := h.db.CampaignCounts(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return c, counts[id]
}

// listRow is campaign id's line of `campaigns list`, as fields.
func (h *harness) listRow(id int64) []string {
	h.t.Helper()
	for _, l := range strings.Split(h.exec("campaigns", "list"), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == strconv.FormatInt(id, 10) {
			return f
		}
	}
	h.t.Fatalf("campaign %d not in the list", id)
	return nil
}

// sizeSentOnward picks SIZE, SENT, FAILED, SUPPRESSED, NOT SENT, REMAINING
// out of a list row (SEND AT is three fields: date, time, zone).
func sizeSentOnward(row []string) []string { return row[6:12] }

// The commands, in process: create refuses a past time, a subject naming
// a condition and a body that is neither Markdown nor HTML; a draft is
// scheduled, shown, listed, previewed as a recipient gets it, sent as a
// test (which says no worker is running to send it), canceled.
func TestCampaignsCommands(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := h.campaignBody()
	for _, bad := range [][]string{
		{"--subject", "Openings", "--body", body, "--send-at", "2020-01-06 09:00"},
		{"--subject", "Your ketamine inquiry", "--body", body},
		{"--subject", "Openings", "--body", filepath.Join(h.dir, "practicemail.yaml")},
		{"--subject", "Openings", "--body", body, "--to", "everyone"},
	} {
		if out, _, err := h.run(h.config, append([]string{"campaigns", "create"}, bad...)...); err == nil {
			t.Errorf("create %v succeeded (%q); want it refused", bad, out)
		}
	}
	if out := h.exec("campaigns", "list"); !strings.Contains(out, "no campaigns") {
		t.Fatalf("after refusals the list is %q", out)
	}
	id := strings.TrimSpace(h.exec("campaigns", "create", "--subject", "Openings in January", "--body", body))
	if id != "1" {
		t.Fatalf("create printed %q, want the id 1", id)
	}
	if out := h.exec("campaigns", "schedule", "1", "--at", "2030-01-08 09:00"); !strings.Contains(out, "2030-01-08 09:00 MST") {
		t.Fatalf("schedule said %q; want the time in the practice's zone", out)
	}
	if row := h.listRow(1); row[1] != store.CampaignScheduled || row[5] != store.AudienceNews {
		t.Fatalf("list row %v", row)
	}
	if out := h.exec("campaigns", "show", "1"); !strings.Contains(out, "Hello {{first_name|Friend}}") || !strings.Contains(out, "scheduled") {
		t.Fatalf("show said %q", out)
	}
	dir := filepath.Join(h.dir, "preview")
	h.exec("preview", "campaign", "1", "--out", dir)
	html, err := os.ReadFile(filepath.Join(dir, "campaign-1.html"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(dir, "campaign-1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "Hello Sam,") || !strings.Contains(string(text), "Subject: Openings in January") ||
		!strings.Contains(string(text), "Four consult openings in January at Stillpoint Counseling") {
		t.Fatalf("preview:\n%s\n%s", html, text)
	}
	// No worker runs in this test: the test message waits in the queue,
	// and the command says so.
	if out := h.exec("campaigns", "test", "1", "--to", "me@example.org"); !strings.Contains(out, "a test is queued for me@example.org") ||
		!strings.Contains(out, "no worker is running") {
		t.Fatalf("test said %q; want it queued, and that no worker is running", out)
	}
	h.exec("campaigns", "cancel", "1")
	if _, _, err := h.run(h.config, "campaigns", "schedule", "1", "--now"); err == nil {
		t.Fatal("a canceled campaign was scheduled again")
	}
	if row := h.listRow(1); row[1] != store.CampaignCanceled {
		t.Fatalf("list row %v; want canceled", row)
	}
}

// A campaign goes out once to each, through a restart with Redis emptied
// while it waits for its time (the process killed), and another while it
// sends (stopped as a supervisor stops it): SQL holds the campaign and its
// rows, the scheduler starts it from SQL, the reconciler puts back what
// Redis lost. `campaigns list` tells the true counts during and after.
func TestCampaignSurvivesRestartsAndFlushes(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			const people = 1500
			h := newHarness(t, harnessOptions{engine: engine})
			crashThrottleSMTP(h.smtp, 3*time.Millisecond)
			want := h.addNews("news", people)
			h.addSubscribers("postsonly", 3, store.StatusActive)
			bin := crashBuildBinary(t)
			at := time.Now().Add(4 * time.Second).Format(time.RFC3339)
			id := strings.TrimSpace(h.exec("campaigns", "create", "--subject", "Openings in January", "--body", h.campaignBody(), "--send-at", at))
			cid, _ := strconv.ParseInt(id, 10, 64)

			p := crashStartCommand(h, bin, "run")
			time.Sleep(time.Second) // it runs, the campaign waits
			p.kill()
			crashFlushRedis(t)
			if c, _ := h.campaignCounts(cid); c.State != store.CampaignScheduled {
				t.Fatalf("before its time the campaign is %s", c.State)
			}
			p = crashStartCommand(h, bin, "run")
			h.waitFor("300 sent", 60*time.Second, func() bool { return h.smtp.Count() >= 300 })
			p.stop()
			crashFlushRedis(t)
			_, mid := h.campaignCounts(cid)
			row := sizeSentOnward(h.listRow(cid))
			if row[0] != strconv.Itoa(people) || row[1] != strconv.FormatInt(mid.Sent, 10) ||
				row[5] != strconv.FormatInt(mid.Remaining, 10) || mid.Sent != int64(h.smtp.Count()) {
				t.Fatalf("between lives: list %v, ledger %+v, server %d", row, mid, h.smtp.Count())
			}
			crashStartCommand(h, bin, "run")
			h.waitFor("every one sent", 90*time.Second, func() bool {
				c, _ := h.campaignCounts(cid)
				return c.State == store.CampaignSent
			})
			r := crashCheckMessages(t, h.smtp.Messages(), want, 0)
			if row := sizeSentOnward(h.listRow(cid)); strings.Join(row, " ") != fmt.Sprintf("%d %d 0 0 0 0", people, people) {
				t.Fatalf("after: list %v", row)
			}
			t.Logf("%s: %d messages, %d duplicates; %d sent before the second restart", engine, r.total, r.duplicates, mid.Sent)
		})
	}
}

// Two scheduler processes beside a worker process: the campaign starts
// once and goes once to each.
func TestTwoSchedulerProcessesSendACampaignOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	want := h.addNews("news", 200)
	bin := crashBuildBinary(t)
	at := time.Now().Add(3 * time.Second).Format(time.RFC3339)
	id := strings.TrimSpace(h.exec("campaigns", "create", "--subject", "Openings in January", "--body", h.campaignBody(), "--send-at", at))
	cid, _ := strconv.ParseInt(id, 10, 64)
	a := crashStartCommand(h, bin, "scheduler")
	b := crashStartCommand(h, bin, "scheduler")
	crashStartCommand(h, bin, "worker")
	h.waitFor("the campaign sent", 60*time.Second, func() bool {
		c, _ := h.campaignCounts(cid)
		return c.State == store.CampaignSent
	})
	crashCheckMessages(t, h.smtp.Messages(), want, 0)
	if n := strings.Count(a.log.String(), "msg=campaign_started") + strings.Count(b.log.String(), "msg=campaign_started"); n != 1 {
		t.Fatalf("the campaign was started %d times by two schedulers", n)
	}
}

// bookingSigned is a signed booking webhook's header value for body.
func bookingSigned(key, body string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// --stop-after-bookings 2 with 50 recipients over 20 s: after two signed
// booking webhooks, nothing more goes out, and list says stopped and how
// many went.
func TestCampaignStopsAfterTwoSignedBookings(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	const key = "test-webhook-key-0123456789abcdef"
	h.config = h.variant("hooks.yaml", "  link_key: test-link-key-0123456789abcdef",
		"  link_key: test-link-key-0123456789abcdef\n  webhook_key: "+key)
	h.addNews("news", 50)
	base := h.startWith()
	id := strings.TrimSpace(h.exec("campaigns", "create", "--subject", "Openings in January", "--body", h.campaignBody(),
		"--now", "--spread", "20s", "--stop-after-bookings", "2"))
	cid, _ := strconv.ParseInt(id, 10, 64)
	h.waitFor("5 sent", 30*time.Second, func() bool { return h.smtp.Count() >= 5 })
	for i := range 2 {
		body := fmt.Sprintf(`{"email": "booker%d@example.com", "event": "booked"}`, i)
		if code := post(t, base+"/webhooks/booking", body, "X-Signature", bookingSigned(key, body)); code != 202 {
			t.Fatalf("booking webhook: %d", code)
		}
	}
	at := h.smtp.Count()
	time.Sleep(3 * time.Second) // seven or eight slots
	c, n := h.campaignCounts(cid)
	if got := h.smtp.Count(); got > at+1 { // one already past its check may finish
		t.Fatalf("%d sent after the second booking", got-at)
	}
	if c.State != store.CampaignStopped || n.Sent != int64(h.smtp.Count()) || n.Sent+n.Halted != 50 {
		t.Fatalf("%s, %+v; want stopped, every row sent or not sent", c.State, n)
	}
	if row := h.listRow(cid); row[1] != store.CampaignStopped || sizeSentOnward(row)[1] != strconv.FormatInt(n.Sent, 10) {
		t.Fatalf("list row %v", row)
	}
}

// Canceled mid-send from the command line: the rest never goes, and the
// cancel and the list say how many went.
func TestCampaignCanceledMidSendFromTheCommandLine(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var lastAccept atomic.Int64
	h.smtp.SetDataHook(func([]string) *smtp.SMTPError {
		time.Sleep(3 * time.Millisecond)
		lastAccept.Store(time.Now().UnixNano())
		return nil
	})
	h.addNews("news", 2000)
	h.start()
	id := strings.TrimSpace(h.exec("campaigns", "create", "--subject", "Openings in January", "--body", h.campaignBody(), "--now"))
	cid, _ := strconv.ParseInt(id, 10, 64)
	h.waitFor("200 sent", 60*time.Second, func() bool { return h.smtp.Count() >= 200 })
	out := h.exec("campaigns", "cancel", id)
	canceled := time.Now()
	m := regexp.MustCompile(`(\d+) sent before the cancel`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("cancel said %q", out)
	}
	h.waitFor("nothing left", 30*time.Second, func() bool {
		_, n := h.campaignCounts(cid)
		return n.Remaining == 0
	})
	time.Sleep(time.Second)
	msgs := h.smtp.Count()
	_, n := h.campaignCounts(cid)
	if n.Sent != int64(msgs) || n.Sent+n.Halted != 2000 || n.Halted == 0 {
		t.Fatalf("%+v, server %d", n, msgs)
	}
	if row := sizeSentOnward(h.listRow(cid)); row[1] != strconv.Itoa(msgs) || row[4] != strconv.FormatInt(n.Halted, 10) {
		t.Fatalf("list %v; want %d sent and %d not sent", row, msgs, n.Halted)
	}
	t.Logf("cancel said %s sent; %d went in all; the last one %v after the cancel returned (machine busy)",
		m[1], msgs, time.Duration(lastAccept.Load()-canceled.UnixNano()).Round(time.Millisecond))
}
