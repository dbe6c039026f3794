package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// The people of the booking fixtures (internal/booking/testdata), and one
// who is in none of them.
const (
	jordan = "jordan.reyes@example.test"
	guest  = "guest.friend@example.test"
	other  = "other.person@example.test"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "booking", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hexMAC(key string, parts ...string) string {
	m := hmac.New(sha256.New, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// calendlySig signs body as Calendly does, at t.
func calendlySig(body, key string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hexMAC(key, ts, ".", body)
}

// enrolled makes each address a contact in an active enrollment.
func (e *env) enrolled(addresses ...string) {
	e.t.Helper()
	ctx := context.Background()
	for _, a := range addresses {
		saved, err := e.db.SaveInquiry(ctx, store.NewInquiry{Contact: store.NewContact{Email: a, Name: "P", Consent: true},
			Message: "hello"}, testSealer(e.t))
		if err != nil {
			e.t.Fatal(err)
		}
		if _, _, err := e.db.Enroll(ctx, store.NewEnrollment{ContactID: saved.ContactID, Sequence: "inquiry", Version: "v1",
			Steps: []store.SequenceStep{{Step: 0, Template: "inquiry/welcome", Subject: "Thank you for writing"}}}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// states maps each contact to the state of their enrollment.
func (e *env) states() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, row := range e.strings(`SELECT c.email || ' ' || e.state FROM enrollments e JOIN contacts c ON c.id = e.contact_id`) {
		a, s, _ := strings.Cut(row, " ")
		out[a] = s
	}
	return out
}

// hook is one delivery to a booking webhook and what must follow.
type hook struct {
	name, path, body string
	header           []string
	code             int
	stopped          []string // the enrollments stopped once this is done, cumulatively
	events           int      // webhook_events rows once this is done
}

// runHooks sends each delivery in order to a server where jordan, the
// guest and the other person are enrolled, and checks every answer, every
// enrollment and the events recorded after each. No log line names anyone.
func runHooks(t *testing.T, e *env, hooks []hook) {
	t.Helper()
	e.enrolled(jordan, guest, other)
	for _, h := range hooks {
		r := e.do("POST", h.path, jsonType, h.body, h.header...)
		if r.code != h.code {
			t.Errorf("%s: %d %s, want %d", h.name, r.code, r.body, h.code)
		}
		want := map[string]string{jordan: "active", guest: "active", other: "active"}
		for _, a := range h.stopped {
			want[a] = "stopped"
		}
		if diff := cmp.Diff(want, e.states()); diff != "" {
			t.Errorf("%s: enrollments (-want +got):\n%s", h.name, diff)
		}
		if n := e.strings(`SELECT COUNT(*) FROM webhook_events`); n[0] != strconv.Itoa(h.events) {
			t.Errorf("%s: %s webhook events, want %d", h.name, n[0], h.events)
		}
	}
	if l := e.logs.String(); strings.Contains(l, "@") || !strings.Contains(l, "booking_webhook") {
		t.Errorf("the log names someone, or says nothing:\n%s", l)
	}
}

func TestGenericBookingWebhook(t *testing.T) {
	eachInquiryEngine(t, func(t *testing.T, e *env, q *inquiryQueue) {
		booked, canceled := fixture(t, "booking_booked.json"), fixture(t, "booking_canceled.json")
		stranger := `{"email":"nobody@example.test","event":"booked"}`
		sig := func(b string) []string { return []string{"X-Signature", "sha256=" + hexMAC(webhookKey, b)} }
		runHooks(t, e, []hook{
			{name: "no signature", path: "/webhooks/booking", body: booked, code: 401},
			{name: "wrong key", path: "/webhooks/booking", body: booked, header: []string{"X-Signature", "sha256=" + hexMAC("another key", booked)}, code: 401},
			{name: "another body's signature", path: "/webhooks/booking", body: booked, header: sig(canceled), code: 401},
			{name: "malformed", path: "/webhooks/booking", body: `{"email":["x"]}`, header: sig(`{"email":["x"]}`), code: 400},
			{name: "canceled changes nothing", path: "/webhooks/booking", body: canceled, header: sig(canceled), code: 202, events: 1},
			{name: "unknown person", path: "/webhooks/booking", body: stranger, header: sig(stranger), code: 202, events: 2},
			{name: "booked", path: "/webhooks/booking", body: booked, header: sig(booked), code: 202, stopped: []string{jordan}, events: 3},
			{name: "booked again is one event", path: "/webhooks/booking", body: booked, header: sig(booked), code: 202, stopped: []string{jordan}, events: 3},
			{name: "canceled after booked restarts nothing", path: "/webhooks/booking", body: canceled + " ", header: sig(canceled + " "), code: 202, stopped: []string{jordan}, events: 4},
		})
		if got := e.strings(`SELECT status FROM contacts WHERE email = '` + jordan + `'`); !cmp.Equal(got, []string{store.ContactBooked}) {
			t.Errorf("jordan's status = %v, want booked", got)
		}
		// The stranger writes and enrolls later; the old delivery replayed
		// changes nothing: it was seen.
		e.enrolled("nobody@example.test")
		if r := e.do("POST", "/webhooks/booking", jsonType, stranger, sig(stranger)...); r.code != 202 || e.states()["nobody@example.test"] != "active" {
			t.Errorf("a replayed delivery = %d and stopped a later enrollment: %v", r.code, e.states())
		}
	})
}

func TestCalendlyWebhook(t *testing.T) {
	eachInquiryEngine(t, func(t *testing.T, e *env, q *inquiryQueue) {
		created, canceled := fixture(t, "calendly_invitee_created.json"), fixture(t, "calendly_invitee_canceled.json")
		moved, noShow := fixture(t, "calendly_invitee_canceled_rescheduled.json"), fixture(t, "calendly_invitee_no_show_created.json")
		now := e.clock.Now()
		sig := func(b string) []string {
			return []string{"Calendly-Webhook-Signature", calendlySig(b, calendlyKey, now)}
		}
		const p = "/webhooks/calendly"
		runHooks(t, e, []hook{
			{name: "wrong key", path: p, body: created, header: []string{"Calendly-Webhook-Signature", calendlySig(created, "another", now)}, code: 401},
			{name: "stale", path: p, body: created, header: []string{"Calendly-Webhook-Signature", calendlySig(created, calendlyKey, now.Add(-6*time.Minute))}, code: 401},
			{name: "our own format's header", path: p, body: created, header: []string{"X-Signature", "sha256=" + hexMAC(calendlyKey, created)}, code: 401},
			{name: "reschedule is no cancellation and stops nothing", path: p, body: moved, header: sig(moved), code: 202, events: 1},
			{name: "no-show is ignored", path: p, body: noShow, header: sig(noShow), code: 202, events: 1},
			{name: "canceled", path: p, body: canceled, header: sig(canceled), code: 202, events: 2},
			{name: "created", path: p, body: created, header: sig(created), code: 202, stopped: []string{jordan}, events: 3},
			{name: "created again, signed afresh, is one event", path: p, body: created,
				header: []string{"Calendly-Webhook-Signature", calendlySig(created, calendlyKey, now.Add(time.Minute))}, code: 202, stopped: []string{jordan}, events: 3},
		})
	})
}

func TestCalcomWebhook(t *testing.T) {
	eachInquiryEngine(t, func(t *testing.T, e *env, q *inquiryQueue) {
		created, moved := fixture(t, "calcom_booking_created.json"), fixture(t, "calcom_booking_rescheduled.json")
		cancelled, ping := fixture(t, "calcom_booking_cancelled.json"), fixture(t, "calcom_ping.json")
		sig := func(b string) []string { return []string{"X-Cal-Signature-256", hexMAC(calcomSecret, b)} }
		const p = "/webhooks/calcom"
		runHooks(t, e, []hook{
			{name: "no-secret-provided is refused", path: p, body: created, header: []string{"X-Cal-Signature-256", "no-secret-provided"}, code: 401},
			{name: "wrong secret", path: p, body: created, header: []string{"X-Cal-Signature-256", hexMAC("another", created)}, code: 401},
			{name: "no signature", path: p, body: created, code: 401},
			{name: "ping", path: p, body: ping, header: sig(ping), code: 202},
			{name: "rescheduled stops nothing", path: p, body: moved, header: sig(moved), code: 202, events: 1},
			{name: "cancelled stops nothing", path: p, body: cancelled, header: sig(cancelled), code: 202, events: 2},
			{name: "created stops the booker and the guest", path: p, body: created, header: sig(created), code: 202, stopped: []string{jordan, guest}, events: 3},
			{name: "created again is one event", path: p, body: created, header: sig(created), code: 202, stopped: []string{jordan, guest}, events: 3},
		})
	})
}

// Without a key or secret, each route does not exist: an unsigned door
// would let anyone stop anyone's sequence.
func TestBookingWebhooksNotConfigured(t *testing.T) {
	e, _ := inquiryEnv(t, storetest.URL(t, "sqlite"), func(s *Server) { s.WebhookKey, s.CalendlyKey, s.CalcomSecret = nil, nil, nil })
	e.enrolled(jordan)
	booked := fixture(t, "booking_booked.json")
	for path, header := range map[string][]string{
		"/webhooks/booking":  {"X-Signature", "sha256=" + hexMAC("", booked)},
		"/webhooks/calendly": {"Calendly-Webhook-Signature", calendlySig(booked, "", e.clock.Now())},
		"/webhooks/calcom":   {"X-Cal-Signature-256", "no-secret-provided"},
	} {
		if r := e.do("POST", path, jsonType, booked, header...); r.code != 404 {
			t.Errorf("%s without a key = %d, want 404", path, r.code)
		}
	}
	if got := e.states(); got[jordan] != "active" {
		t.Errorf("jordan's enrollment = %v", got)
	}
}
