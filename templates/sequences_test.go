package templates_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/sequences"
	"github.com/practicemail/practicemail/templates"
)

const booking = "https://stillpoint.example/consult"

// TestInquirySequence loads the shipped sequence against the embedded
// templates and renders every step: each carries the crisis resources and
// the booking link, is short enough to read on a phone, and has the
// subject the sequence gives it.
func TestInquirySequence(t *testing.T) {
	e, err := templates.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	set, err := sequences.LoadDir("sequences", sequences.Options{HasTemplate: e.Has})
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	seq := set["inquiry"]
	if seq == nil {
		t.Fatal("no inquiry sequence")
	}
	if n := len(seq.Steps); n < 4 || n > 5 {
		t.Errorf("%d steps, want four or five", n)
	}
	if last := seq.Steps[len(seq.Steps)-1].After; last < 10*24*time.Hour || last > 16*24*time.Hour {
		t.Errorf("last step after %s, want about two weeks", last)
	}
	if !seq.Steps[0].Immediate() {
		t.Errorf("the first step waits %s; the acknowledgement goes at once", seq.Steps[0].After)
	}
	for i, st := range seq.Steps {
		t.Run(st.Template, func(t *testing.T) {
			r, err := e.Render(st.Template, inquiryData())
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if r.Subject != st.Subject {
				t.Errorf("step %d: template subject %q, sequence subject %q: keep them equal", i+1, r.Subject, st.Subject)
			}
			text := strings.Join(strings.Fields(r.Text), " ")
			for _, want := range []string{"call or text 988", "call 911", booking} {
				if !strings.Contains(text, want) {
					t.Errorf("text part lacks %q", want)
				}
			}
			for _, want := range []string{`href="tel:988"`, `href="` + booking + `"`} {
				if !strings.Contains(r.HTML, want) {
					t.Errorf("HTML part lacks %s", want)
				}
			}
			// About a minute's reading on a phone, footer included.
			if n := len(strings.Fields(r.Text)); n > 260 {
				t.Errorf("text part has %d words; keep a follow-up short enough for a phone", n)
			}
		})
	}
}

// TestInquirySequenceRefusesConditionInSubject: the shipped file with one
// subject changed to name a treatment is refused, naming file and line.
func TestInquirySequenceRefusesConditionInSubject(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("sequences", "inquiry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(src), `"What a first session looks like"`, `"Your first ketamine session"`, 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "inquiry.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = sequences.LoadDir(dir, sequences.Options{})
	line := 1 + strings.Count(bad[:strings.Index(bad, "Your first ketamine")], "\n")
	want := filepath.Join(dir, "inquiry.yaml") + ":" + itoa(line) + `: step 3: subject: names "ketamine"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("LoadDir: %v, want %q", err, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func inquiryData() templates.InquiryEmail {
	return templates.InquiryEmail{
		Practice:   "Stillpoint Counseling",
		Name:       "Sam",
		BookingURL: booking,
		Footer: templates.Footer{
			PracticeName:   "Stillpoint Counseling",
			PostalAddress:  "1200 Pearl St, Suite 4, Boulder, CO 80302",
			UnsubscribeURL: "https://mail.stillpoint.example/unsubscribe/PRACTICEMAIL_UNSUBSCRIBE_TOKEN_xxxxxxxxx",
			PreferencesURL: "https://mail.stillpoint.example/preferences/PRACTICEMAIL_PREFERENCES_TOKEN_xx-x_xAz9",
			Marketing:      true,
		},
	}
}
