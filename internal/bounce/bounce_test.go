package bounce_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/practicemail/practicemail/internal/bounce"
)

func TestParseFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []bounce.Report
	}{
		{"postfix-hard-5.1.1.eml", []bounce.Report{{Email: "jane.doe@example.com", Type: bounce.Hard, Status: "5.1.1",
			Reason:    "550 5.1.1 <jane.doe@example.com>: Recipient address rejected: User unknown in local recipient table",
			MessageID: "<d42.post7.k3j9a0@therapist.example>"}}},
		{"postfix-soft-4.2.2-delayed.eml", []bounce.Report{{Email: "sam@example.net", Type: bounce.Soft, Status: "4.2.2",
			Reason: "452 4.2.2 Mailbox full", MessageID: "<d43.post7.k3j9a0@therapist.example>"}}},
		{"exim-hard.eml", []bounce.Report{{Email: "old.address@example.org", Type: bounce.Hard, Status: "5.0.0",
			Reason: "550 No Such User Here", MessageID: "<d51.post8.k3j9a0@therapist.example>"}}},
		{"gmail-hard.eml", []bounce.Report{{Email: "nosuchuser.4817@gmail.com", Type: bounce.Hard, Status: "5.1.1",
			Reason:    "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser 6a1803df08f44-6e8f2a1c0b5si1127936d6.4 - gsmtp",
			MessageID: "<d77.post9.k3j9a0@therapist.example>"}}},
		{"outlook-hard.eml", []bounce.Report{{Email: "gone@outlook.com", Type: bounce.Hard, Status: "5.5.0",
			Reason:    "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [DM6PR11MB4107.namprd11.prod.outlook.com 2026-03-06T09:02:33.121Z 08DD5B9F5E2C1A0B]",
			MessageID: "<d88.post9.k3j9a0@therapist.example>",
			Headers:   map[string]string{"X-Ms-Exchange-Organization-Expirationstarttime": "06 Mar 2026 09:02:31.8712 (UTC)"}}}},
		{"ses-hard.eml", []bounce.Report{{Email: "bounce@simulator.amazonses.com", Type: bounce.Hard, Status: "5.1.1",
			Reason: "550 5.1.1 user unknown", MessageID: "<d99.post10.k3j9a0@therapist.example>",
			Headers: map[string]string{"X-Ses-Outgoing": "2026.03.07-54.240.8.50"}}}},
		{"yahoo-arf.eml", []bounce.Report{{Email: "complainer@yahoo.com", Type: bounce.Complaint, Reason: "abuse",
			MessageID: "<d104.post10.k3j9a0@therapist.example>"}}},
		{"nomatch-hard.eml", []bounce.Report{{Email: "unknown.person@example.com", Type: bounce.Hard, Status: "5.1.1",
			Reason:    "550 5.1.1 <unknown.person@example.com>: Recipient address rejected: User unknown in local recipient table",
			MessageID: "<d9999.post7.k3j9a0@therapist.example>"}}},
		{"postfix-delivered.eml", nil}, // a success report says nothing against anyone
		// Without the original, Google's X-Original-Message-ID names it.
		{"gmail-hard-headers-only.eml", []bounce.Report{{Email: "nosuchuser.4817@gmail.com", Type: bounce.Hard, Status: "5.1.1",
			Reason:    "550 5.1.1 The email account that you tried to reach does not exist.",
			MessageID: "<d78.post9.k3j9a0@therapist.example>"}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := bounce.Parse(open(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// A message that is not a report is ErrNotReport; one that says it is but
// cannot be read is another error, never a guess.
func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, file, text string
		notReport        bool
	}{
		{name: "auto-reply", file: "plain-autoreply.eml", notReport: true},
		{name: "truncated", file: "broken-truncated.eml"},
		{name: "no status part", file: "broken-no-status-part.eml"},
		{name: "not a message", text: "hello", notReport: true},
		{name: "empty", text: "", notReport: true},
		{name: "other report type", text: "Content-Type: multipart/report; report-type=disposition-notification; boundary=x\n\n--x\n\n--x--\n", notReport: true},
		{name: "no boundary", text: "Content-Type: multipart/report; report-type=delivery-status\n\nbody\n"},
		{name: "bad fields", text: "Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\nReporting-MTA dns\n\n--x--\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReader(tc.text)
			var got []bounce.Report
			var err error
			if tc.file != "" {
				got, err = bounce.Parse(open(t, tc.file))
			} else {
				got, err = bounce.Parse(r)
			}
			if err == nil || errors.Is(err, bounce.ErrNotReport) != tc.notReport {
				t.Fatalf("Parse = %+v, %v; want an error (not a report: %v)", got, err, tc.notReport)
			}
		})
	}
}

// One report can name several recipients; each is read on its own.
func TestParseSeveralRecipients(t *testing.T) {
	msg := "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n" +
		"Final-Recipient: rfc822; a@example.com\r\nAction: failed\r\nStatus: 5.2.1\r\n\r\n" +
		"Final-Recipient: rfc822; b@example.com\r\nAction: relayed\r\nStatus: 2.0.0\r\n\r\n" +
		"Original-Recipient: rfc822; C@Example.com\r\nFinal-Recipient: rfc822; c@forward.example\r\nAction: failed\r\nStatus: 4.4.7\r\n" +
		"Diagnostic-Code: X-Postfix; delivery temporarily suspended\r\n\r\n--b--\r\n"
	got, err := bounce.Parse(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	want := []bounce.Report{
		{Email: "a@example.com", Type: bounce.Hard, Status: "5.2.1"},
		{Email: "c@example.com", Type: bounce.Soft, Status: "4.4.7", Reason: "delivery temporarily suspended"},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
