package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/booking"
	"github.com/practicemail/practicemail/internal/browsertest"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// TestInquiryJourneyBookingStopsTheSequence is issue 9's first two Show
// items through `practicemail run`, on each SQL engine, with a sequence of
// steps at 0s, 2s and 10s (see inquirySequence): an inquiry through the hosted form in headless
// Chromium at 360 px gets the acknowledgement at once and tells the
// practice; step 2 arrives; a correctly signed `booked` webhook then keeps
// step 3 from ever arriving. The same with Calendly's and Cal.com's own
// payloads and signatures, and a Calendly reschedule (the old invitee
// canceled with rescheduled: true, then the new invitee created) changes
// nothing: it is recorded as a reschedule, never a cancellation. For each
// source a badly signed webhook naming another person is refused with 401,
// and that person's sequence goes on to its last step. A second inquiry
// from someone already enrolled tells the practice again and enrolls
// nobody twice: every step once.
func TestInquiryJourneyBookingStopsTheSequence(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { testInquiryJourney(t, engine) })
	}
}

func testInquiryJourney(t *testing.T, engine string) {
	s := newInquirySite(t, engine)
	s.start()
	b := browsertest.New(t, browsertest.Options{})

	const (
		ada  = "ada@example.org"  // the hosted form; books through our own webhook
		gus  = "gus@example.org"  // a badly signed `booked` names him
		cal  = "cal@example.org"  // books through Calendly, then reschedules
		cora = "cora@example.org" // a badly signed Calendly booking names her
		cam  = "cam@example.org"  // books through Cal.com
		cole = "cole@example.org" // a badly signed Cal.com booking names him
		sam  = "sam@example.org"  // writes twice
	)
	s.inquireInBrowser(b, ada, "Ada Lovelace", "I have felt numb for a long while. "+phrase)
	for i, who := range []string{sam, gus, cal, cora, cam, cole} {
		s.inquireJSON(fmt.Sprintf("198.51.100.%d", i+1), who, "Person "+who[:strings.Index(who, "@")], "I would like to talk. "+phrase)
	}
	// Sam writes again once enrolled: the practice hears again, nothing
	// restarts. Everything that is not a booking waits until the bookings
	// are in: they must land between step 2 and step 3.
	s.waitFor("sam's enrollment", 45*time.Second, func() bool {
		c, err := s.db.ContactByEmail(context.Background(), sam)
		if err != nil {
			return false
		}
		es, err := s.db.EnrollmentStates(context.Background(), c.ID)
		return err == nil && len(es) == 1 && es[0].State == store.EnrollmentActive
	})
	s.inquireJSON("198.51.100.77", sam, "Sam", "Writing again, in case. "+phrase)

	stoppedAt := map[string]time.Time{}
	book := func(who string, w webhook) {
		t.Helper()
		s.waitStep(who, 2)
		if code := s.send(w); code != http.StatusAccepted {
			t.Fatalf("%s for %s = %d, want 202", w.path, who, code)
		}
		stoppedAt[who] = time.Now()
		s.checkStoppedInTime(who)
		if st := s.sequenceState(who); st != "stopped(booked)" {
			t.Fatalf("after the booking %s's sequence is %s, want stopped(booked)", who, st)
		}
	}
	refused := func(who string, w webhook) {
		t.Helper()
		s.waitStep(who, 2)
		if code := s.send(w); code != http.StatusUnauthorized {
			t.Fatalf("a badly signed %s for %s = %d, want 401", w.path, who, code)
		}
		if st := s.sequenceState(who); strings.HasPrefix(st, store.EnrollmentStopped) {
			t.Fatalf("after a badly signed booking %s's sequence is %s, want it going on", who, st)
		}
	}
	book(ada, genericBooked(ada, inquiryWebhookKey))
	refused(gus, genericBooked(gus, "not-the-webhook-key"))
	book(cal, calendly(t, "calendly_invitee_created.json", cal, inquiryCalendlyKey, time.Now()))
	refused(cora, calendly(t, "calendly_invitee_created.json", cora, "not-the-calendly-key", time.Now()))
	book(cam, calcom(t, "calcom_booking_created.json", cam, inquiryCalcomKey))
	refused(cole, calcom(t, "calcom_booking_created.json", cole, "not-the-calcom-secret"))

	ack := s.mailTo(ada, stepThanks)[0]
	if !strings.Contains(ack.TextPart, "988") || !strings.Contains(ack.TextPart, "https://book.stillpoint.example/consult") {
		t.Errorf("the acknowledgement lacks crisis resources (988) or the booking link:\n%s", ack.TextPart)
	}
	if ack.Header.Get("List-Unsubscribe") == "" || replyTo(ack) != "hello@stillpoint.example" {
		t.Errorf("the acknowledgement: List-Unsubscribe %q, Reply-To %q", ack.Header.Get("List-Unsubscribe"), ack.Header.Get("Reply-To"))
	}
	if !strings.Contains(ack.HTMLPart, `mso-hide: all;">Your message arrived, and a real person will write back.</div>`) {
		t.Errorf("the acknowledgement's HTML has no hidden preheader with the step's preview text")
	}
	s.waitFor("the practice's notification of ada's inquiry", 45*time.Second, func() bool { return s.notificationsAbout(ada) == 1 })
	for _, m := range s.mailTo(inquiryNotifyTo, "New inquiry") {
		if replyTo(m) == ada && !strings.Contains(m.TextPart, phrase) {
			t.Errorf("the notification does not carry ada's message:\n%s", m.TextPart)
		}
	}

	// Cal moves the consult: Calendly sends the old invitee canceled with
	// rescheduled: true, then the new invitee created.
	moved := calendly(t, "calendly_invitee_canceled_rescheduled.json", cal, inquiryCalendlyKey, time.Now())
	again := calendly(t, "calendly_invitee_created_rescheduled.json", cal, inquiryCalendlyKey, time.Now())
	for _, w := range []webhook{moved, again} {
		if code := s.send(w); code != http.StatusAccepted {
			t.Fatalf("Calendly reschedule delivery = %d, want 202", code)
		}
	}
	s.checkRecordedAsReschedule(moved.body)
	if st, seq := s.contactStatus(cal), s.sequenceState(cal); st != store.ContactBooked || seq != "stopped(booked)" {
		t.Errorf("after the reschedule cal is %s with sequence %s, want booked and stopped(booked)", st, seq)
	}

	for _, who := range []string{gus, cora, cole, sam} {
		s.waitStep(who, 3)
	}
	for _, who := range []string{ada, cal, cam} {
		s.checkLastStepHeldBack(who)
	}
	for _, who := range []string{gus, cora, cole, sam} {
		s.waitFor(who+"'s sequence to end", 30*time.Second, func() bool { return s.sequenceState(who) == store.EnrollmentDone })
	}
	s.waitFor("sam's second notification", 45*time.Second, func() bool { return s.notificationsAbout(sam) == 2 })
	for _, who := range []string{ada, cal, cam} {
		s.checkStepsOnce(who, 2)
	}
	for _, who := range []string{gus, cora, cole, sam} {
		s.checkStepsOnce(who, 3)
	}
	for who, want := range map[string]int{ada: 1, gus: 1, cal: 1, cora: 1, cam: 1, cole: 1, sam: 2} {
		if n := s.notificationsAbout(who); n != want {
			t.Errorf("the practice was told of %s's inquiries %d time(s), want %d", who, n, want)
		}
	}
	t.Logf("booked %s after step 2; sam wrote twice: %d notifications, one enrollment (%s), steps %q",
		stoppedDelays(s, stoppedAt), s.notificationsAbout(sam), s.sequenceState(sam), s.stepsTo(sam))
}

// checkRecordedAsReschedule checks that the run recorded Calendly's
// invitee.canceled with rescheduled: true as a reschedule, and that no
// cancellation of that invitee was recorded.
func (s *inquirySite) checkRecordedAsReschedule(body string) {
	s.t.Helper()
	ev, err := booking.ParseCalendly([]byte(body))
	if err != nil || ev.Kind != booking.Rescheduled {
		s.t.Fatalf("the reschedule fixture reads as %v, %v", ev.Kind, err)
	}
	asCancel, err := booking.ParseCalendly([]byte(strings.Replace(body, `"rescheduled": true`, `"rescheduled": false`, 1)))
	if err != nil || asCancel.Kind != booking.Canceled {
		s.t.Fatalf("the fixture without rescheduled reads as %v, %v", asCancel.Kind, err)
	}
	ctx := context.Background()
	if seen, err := s.db.WebhookEventSeen(ctx, booking.SourceCalendly, ev.Key); err != nil || !seen {
		s.t.Errorf("the reschedule was not recorded as one: %v, %v", seen, err)
	}
	if seen, err := s.db.WebhookEventSeen(ctx, booking.SourceCalendly, asCancel.Key); err != nil || seen {
		s.t.Errorf("the reschedule was recorded as a cancellation: %v, %v", seen, err)
	}
}

// stoppedDelays says, per person, how long before their last step was due
// the booking stopped them: the test's margin on this machine.
func stoppedDelays(s *inquirySite, stoppedAt map[string]time.Time) string {
	var parts []string
	for who, at := range stoppedAt {
		due := s.scheduledSteps(who)[len(inquirySteps)-1].due
		parts = append(parts, fmt.Sprintf("%s %.1fs before step 3", who, due.Sub(at).Seconds()))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// TestInquiryJourneyReplyStopsOnlyTheirSequence is issue 9's "a reply piped
// to `mail ingest` stops that person's sequence only", end to end: while
// `practicemail run` sends the test sequence to rae and ann, rae's reply to
// step 2 is piped to the practicemail binary's `mail ingest` on standard
// input, as a mailbox rule would. Rae's step 3 never arrives; ann's does.
// (TestMailIngest shows the command's answers on enrollments written by
// hand; this shows it on a sequence being sent.)
func TestInquiryJourneyReplyStopsOnlyTheirSequence(t *testing.T) {
	bin := crashBuildBinary(t)
	s := newInquirySite(t, "sqlite")
	s.start()
	const rae, ann = "rae@example.org", "ann@example.org"
	s.inquireJSON("198.51.100.1", rae, "Rae", "Hello. "+phrase)
	s.inquireJSON("198.51.100.2", ann, "Ann", "Hello. "+phrase)

	step2 := s.waitMail(rae, stepProtection, 45*time.Second)
	s.waitStep(ann, 2)
	answer := "From: Rae <Rae@Example.org>\r\nTo: hello@stillpoint.example\r\nSubject: Re: " + stepProtection +
		"\r\nMessage-ID: <reply-1@example.org>\r\nIn-Reply-To: " + step2.Header.Get("Message-Id") +
		"\r\n\r\nThank you, I would like to talk. " + phrase + "\r\n"
	cmd := exec.Command(bin, "mail", "ingest", "--config", s.config)
	cmd.Env = crashChildEnv()
	cmd.Stdin = strings.NewReader(answer)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rae@example.org replied: 1 follow-up sequence stopped") {
		t.Fatalf("practicemail mail ingest: %v\n%s", err, out)
	}
	if strings.Contains(string(out), phrase) {
		t.Errorf("mail ingest printed the reply's body:\n%s", out)
	}
	s.checkStoppedInTime(rae)
	if st := s.sequenceState(rae); st != "stopped(replied)" {
		t.Fatalf("after the reply rae's sequence is %s, want stopped(replied)", st)
	}

	s.waitStep(ann, 3)
	s.checkLastStepHeldBack(rae)
	s.checkStepsOnce(rae, 2)
	s.checkStepsOnce(ann, 3)
	if st := s.sequenceState(ann); st != store.EnrollmentDone {
		t.Errorf("ann's sequence is %s, want done", st)
	}
}
