package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/seal"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// phrase is the distinctive text of an inquiry's message: only `inquiries
// show` may print it.
const phrase = "lighthouse-quince-meridian-4417"

var dataKey = bytes.Repeat([]byte{7}, seal.KeySize)

// inquiryCLI is a cli on a fresh database of engine with a link key and a
// data key, the store it uses and the sealer of that key.
func inquiryCLI(t *testing.T, engine string) (*cli, *store.DB, *seal.Sealer) {
	t.Helper()
	c := newCLI(t)
	url := storetest.URL(t, engine)
	conf := "database:\n  url: " + url + "\nsecrets:\n  link_key: " + rightsKey +
		"\n  data_key: " + base64.StdEncoding.EncodeToString(dataKey) + "\n"
	if err := os.WriteFile(c.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := seal.New(dataKey)
	if err != nil {
		t.Fatal(err)
	}
	return c, storetest.OpenAt(t, url), s
}

// writes has email write an inquiry and enrolls them in "inquiry", as the
// worker would.
func writes(t *testing.T, db *store.DB, s *seal.Sealer, email string, urgent bool) store.SavedInquiry {
	t.Helper()
	ctx := context.Background()
	saved, err := db.SaveInquiry(ctx, store.NewInquiry{
		Contact: store.NewContact{Email: email, Name: "Rae " + strings.Split(email, "@")[0], Phone: "+1 303 555 0100",
			TimeZone: "America/Denver", Consent: true},
		Message: "I have felt numb for months. " + phrase, PreferredTime: "evenings after six", Urgent: urgent}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Enroll(ctx, store.NewEnrollment{ContactID: saved.ContactID, Sequence: "inquiry", Version: "v1",
		Steps: []store.SequenceStep{{Step: 0, Template: "inquiry/thanks", Subject: "Thanks"}}}); err != nil {
		t.Fatal(err)
	}
	return saved
}

// sequenceOf is the state of the contact's one enrollment: "active", or
// "stopped(reason)".
func sequenceOf(t *testing.T, db *store.DB, contactID int64) string {
	t.Helper()
	es, err := db.EnrollmentStates(context.Background(), contactID)
	if err != nil || len(es) != 1 {
		t.Fatalf("enrollments of %d: %v, %v", contactID, es, err)
	}
	if es[0].StopReason != "" {
		return es[0].State + "(" + es[0].StopReason + ")"
	}
	return es[0].State
}

// runWith runs a command with the cli's configuration, standard input and
// environment.
func (c *cli) runWith(stdin string, env []string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Env: env}
	err := m.Execute(context.Background(), append(args, "--config", c.config))
	return out.String(), err
}

// list never prints a message; show does, and records who looked and
// when, before it prints; stop and erase act on one person only.
func TestInquiriesCommands(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c, db, s := inquiryCLI(t, engine)
			rae := writes(t, db, s, "rae@example.org", true)
			ann := writes(t, db, s, "ann@example.org", false)

			list := c.ok("inquiries", "list")
			for _, want := range []string{"ID  *RECEIVED", "URGENT  *active  *inquiry:active  *sealed  *0  *rae@example.org  *Rae rae",
				"UTC -  *active  *inquiry:active  *sealed  *0  *ann@example.org"} {
				if !matches(want, list) {
					t.Errorf("list lacks %q:\n%s", want, list)
				}
			}
			if strings.Contains(list, phrase) || strings.Contains(list, "evenings") {
				t.Errorf("list printed the message:\n%s", list)
			}

			out := c.ok("inquiries", "show", itoa(rae.InquiryID), "--viewer", "dr-lee")
			for _, want := range []string{phrase, "evenings after six", "URGENT", "rae@example.org", "+1 303 555 0100", "recorded: dr-lee"} {
				if !strings.Contains(out, want) {
					t.Errorf("show lacks %q:\n%s", want, out)
				}
			}
			if _, err := c.runWith("", []string{"USER=therapist"}, "inquiries", "show", itoa(rae.InquiryID)); err != nil {
				t.Fatal(err)
			}
			checkViews(t, db, engine, c, rae.InquiryID, []string{"dr-lee", "therapist"})
			if list := c.ok("inquiries", "list"); !matches("sealed  *2  *rae@example.org", list) {
				t.Errorf("list does not count the views:\n%s", list)
			}

			if out := c.ok("inquiries", "stop", "Rae@Example.org"); out != "rae@example.org: stopped 1 sequence; no more follow-ups\n" {
				t.Errorf("stop said %q", out)
			}
			if a, b := sequenceOf(t, db, rae.ContactID), sequenceOf(t, db, ann.ContactID); a != "stopped(stopped)" || b != "active" {
				t.Errorf("after stop: rae %s, ann %s; want rae stopped only", a, b)
			}
			if out := c.ok("inquiries", "stop", "rae@example.org"); !strings.Contains(out, "no sequence was running (status stopped)") {
				t.Errorf("a second stop said %q", out)
			}

			out = c.ok("inquiries", "erase", "ann@example.org")
			for _, want := range []string{"erased contact", "message and preferred time of 1 inquiry", "stopped: 1 running sequence"} {
				if !strings.Contains(out, want) {
					t.Errorf("erase lacks %q:\n%s", want, out)
				}
			}
			if q, err := db.Inquiry(context.Background(), ann.InquiryID); err != nil || q.Message != nil || q.Contact.Status != store.ContactErased {
				t.Errorf("after erase: %+v, %v; want no message, erased", q, err)
			}
			if out := c.ok("inquiries", "show", itoa(ann.InquiryID), "--viewer", "dr-lee"); strings.Contains(out, phrase) || !strings.Contains(out, "deleted") {
				t.Errorf("show after erase:\n%s", out)
			}
			if a := sequenceOf(t, db, rae.ContactID); a != "stopped(stopped)" {
				t.Errorf("erasing ann changed rae: %s", a)
			}
			checkInquiryErrors(t, c)
		})
	}
}

// checkViews wants the views of inquiry id by viewers, in order, each
// with a time.
func checkViews(t *testing.T, db *store.DB, engine string, c *cli, id int64, viewers []string) {
	t.Helper()
	raw := storetest.Raw(t, c.dbURL(t))
	q := "SELECT viewer, viewed_at FROM inquiry_views WHERE inquiry_id = ? ORDER BY id"
	if engine == "postgres" {
		q = strings.Replace(q, "?", "$1", 1)
	}
	rows, err := raw.Query(q, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v string
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		if at <= 0 {
			t.Errorf("view by %s has no time", v)
		}
		got = append(got, v)
	}
	if strings.Join(got, ",") != strings.Join(viewers, ",") {
		t.Errorf("views by %v, want %v", got, viewers)
	}
}

// dbURL is the database URL of the cli's configuration.
func (c *cli) dbURL(t *testing.T) string {
	b, err := os.ReadFile(c.config)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "url: ")
	url, _, _ := strings.Cut(rest, "\n")
	return url
}

func checkInquiryErrors(t *testing.T, c *cli) {
	t.Helper()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"inquiries", "show", "999", "--viewer", "x"}, "no inquiry 999"},
		{[]string{"inquiries", "show", "abc"}, `inquiry ID must be a number`},
		{[]string{"inquiries", "show"}, "usage: practicemail inquiries show ID"},
		{[]string{"inquiries", "stop", "nobody@example.org"}, "no inquiry came from nobody@example.org"},
		{[]string{"inquiries", "erase", "ann@example.org"}, "no inquiry came from ann@example.org"},
		{[]string{"inquiries", "bogus"}, `inquiries: unknown command "bogus": choose from list, show, stop, erase`},
	} {
		out, _, err := c.run(append(tt.args, "--config", c.config)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || out != "" {
			t.Errorf("practicemail %s: %v (printed %q); want an error saying %q", strings.Join(tt.args, " "), err, out, tt.want)
		}
	}
}

// Without secrets.data_key, show refuses, saying how to make one, and
// records nothing.
func TestInquiriesShowWithoutDataKey(t *testing.T) {
	c, db, s := inquiryCLI(t, "sqlite")
	q := writes(t, db, s, "rae@example.org", false)
	conf := "database:\n  url: " + c.dbURL(t) + "\n"
	if err := os.WriteFile(c.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.run("inquiries", "show", itoa(q.InquiryID), "--viewer", "x", "--config", c.config)
	if err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("show without a key: %v", err)
	}
	list, err := db.ListInquiries(context.Background(), 0)
	if err != nil || len(list) != 1 || list[0].Views != 0 {
		t.Errorf("views after a refused show: %+v, %v", list, err)
	}
	if _, err := db.Inquiry(context.Background(), q.InquiryID); errors.Is(err, store.ErrNotFound) {
		t.Error("the inquiry is gone")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
