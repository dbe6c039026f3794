package main

import (
	"net/mail"
	"os"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/store/storetest"
)

// reply is a message from "from" with extra headers, answering a
// follow-up; its body quotes the person's words, which must go nowhere.
func reply(from, headers string) string {
	return "From: " + from + "\r\nTo: hello@stillpoint.example\r\nSubject: Re: Something we often hear\r\n" +
		"Message-ID: <r1@example.org>\r\n" + headers + "\r\nThank you, I would like to talk. " + phrase + "\r\n"
}

// A reply piped to `mail ingest` stops the sequence of the person it is
// from and nobody else's; an automatic reply stops nothing and says why;
// a stranger's mail is said and ignored; a delivery status report is
// handled as `bounces ingest` handles it, and stops the sequence of the
// contact whose address bounced.
func TestMailIngest(t *testing.T) {
	dsn, err := os.ReadFile(fixtureReport(t, "postfix-hard-5.1.1.eml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c, db, s := inquiryCLI(t, engine)
			rae := writes(t, db, s, "rae@example.org", false)
			ann := writes(t, db, s, "ann@example.org", false)
			jane := writes(t, db, s, "jane.doe@example.com", false)
			c.ok("subscribers", "add", "jane.doe@example.com", "--confirmed")

			steps := []struct {
				name, stdin, want string
				rae, ann, jane    string
			}{
				{"an out-of-office", reply("Rae <rae@example.org>", "Auto-Submitted: auto-replied\r\n"),
					"rae@example.org: an automatic reply (Auto-Submitted: auto-replied): ignored, no sequence stopped\n",
					"active", "active", "active"},
				{"a vacation responder", reply("rae@example.org", "X-Autoreply: yes\r\n"),
					"rae@example.org: an automatic reply (X-Autoreply): ignored, no sequence stopped\n", "active", "active", "active"},
				{"a stranger", reply("someone@example.net", "Auto-Submitted: no\r\n"),
					"someone@example.net: no follow-up sequence is running for this address: ignored\n", "active", "active", "active"},
				{"rae replies", reply("Rae Okafor <Rae@Example.org>", "Auto-Submitted: no\r\n"),
					"rae@example.org replied: 1 follow-up sequence stopped\n", "stopped(replied)", "active", "active"},
				{"not an email", "just some bytes\n", "standard input: not an email", "stopped(replied)", "active", "active"},
				{"a bounce", string(dsn), "jane.doe@example.com: hard 5.1.1: subscriber 1 suppressed (bounced)\n" +
					"jane.doe@example.com: 1 follow-up sequence stopped (bounced)\n", "stopped(replied)", "active", "stopped(bounced)"},
			}
			for _, st := range steps {
				out, err := c.runWith(st.stdin, []string{}, "mail", "ingest")
				if err != nil {
					t.Fatalf("%s: mail ingest: %v", st.name, err)
				}
				if !strings.HasPrefix(out, st.want) {
					t.Errorf("%s: said %q, want %q", st.name, out, st.want)
				}
				if strings.Contains(out, phrase) {
					t.Errorf("%s: printed the body", st.name)
				}
				got := []string{sequenceOf(t, db, rae.ContactID), sequenceOf(t, db, ann.ContactID), sequenceOf(t, db, jane.ContactID)}
				if want := []string{st.rae, st.ann, st.jane}; strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("%s: sequences of rae, ann, jane = %v, want %v", st.name, got, want)
				}
			}
			if list := c.ok("subscribers", "list"); !matches("jane.doe@example.com  *bounced", list) {
				t.Errorf("the bounce did not reach the subscriber:\n%s", list)
			}
		})
	}
}

// `mail ingest FILE` reads the file, as `bounces ingest` does, and takes
// one file at most.
func TestMailIngestFileAndMisuse(t *testing.T) {
	c, db, s := inquiryCLI(t, "sqlite")
	rae := writes(t, db, s, "rae@example.org", false)
	path := t.TempDir() + "/reply.eml"
	if err := os.WriteFile(path, []byte(reply("rae@example.org", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("mail", "ingest", path); out != "rae@example.org replied: 1 follow-up sequence stopped\n" {
		t.Errorf("ingest of a file said %q", out)
	}
	if got := sequenceOf(t, db, rae.ContactID); got != "stopped(replied)" {
		t.Errorf("rae's sequence is %s", got)
	}
	if _, err := c.runWith("", nil, "mail", "ingest", "a.eml", "b.eml"); err == nil || !strings.Contains(err.Error(), "reads one message") {
		t.Errorf("two files: %v", err)
	}
}

func TestAutoReply(t *testing.T) {
	for _, tt := range []struct{ headers, want string }{
		{"Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"},
		{"Auto-Submitted: auto-generated; owner-email=x@example.org", "Auto-Submitted: auto-generated; owner-email=x@example.org"},
		{"Auto-Submitted: No", ""},
		{"X-Autoreply: yes", "X-Autoreply"},
		{"X-Autorespond: vacation", "X-Autorespond"},
		{"Precedence: bulk", "Precedence: bulk"},
		{"Precedence: Auto_Reply", "Precedence: auto_reply"},
		{"Precedence: junk", "Precedence: junk"},
		{"Precedence: first-class", ""},
		{"X-Mailer: Thunderbird", ""},
	} {
		msg, err := mail.ReadMessage(strings.NewReader("From: a@example.org\r\n" + tt.headers + "\r\n\r\nhi\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := autoReply(msg.Header); got != tt.want {
			t.Errorf("%s: autoReply = %q, want %q", tt.headers, got, tt.want)
		}
	}
}
