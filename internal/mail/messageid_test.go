package mail

import (
	"testing"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

// The Message-ID a caller keeps (the worker records it in the ledger) is
// the one the message carries, whatever domain Content names: the mail
// package builds it, and nobody rebuilds it from the From address.
func TestMessageIDIsTheOneTheMessageCarries(t *testing.T) {
	c := testContent()
	c.MessageIDDomain = "ids.stillpoint.example" // not From's domain
	p, err := Prepare(c, []string{phUnsub, phPrefs})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range testRecipients() {
		msg, err := p.AppendTo(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.MessageID(r), mailtest.Parse(t, msg).Header.Get("Message-ID"); got != want {
			t.Errorf("MessageID(%s) = %q, the message carries %q", r.Address, got, want)
		}
	}
}
