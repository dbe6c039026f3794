package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixtureReport is the absolute path of a report in internal/bounce/testdata.
func fixtureReport(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "internal", "bounce", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The reports of real mail servers, ingested, give each person the status
// they earned: a hard 5.1.1 bounced at once, a soft 4.2.2 bounced on the
// third, an ARF complaint complained; a report about nobody on the list is
// said and ignored, changing nothing.
func TestBouncesIngest(t *testing.T) {
	files := map[string]string{}
	for _, f := range []string{"postfix-hard-5.1.1.eml", "postfix-soft-4.2.2-delayed.eml", "yahoo-arf.eml",
		"nomatch-hard.eml", "plain-autoreply.eml", "broken-truncated.eml", "postfix-delivered.eml"} {
		files[f] = fixtureReport(t, f)
	}
	c := newCLI(t)
	for _, e := range []string{"jane.doe@example.com", "sam@example.net", "complainer@yahoo.com", "stays@example.com"} {
		c.ok("subscribers", "add", e, "--confirmed")
	}
	steps := []struct{ file, want string }{
		{"postfix-hard-5.1.1.eml", "jane.doe@example.com: hard 5.1.1: subscriber 1 suppressed (bounced)\n"},
		{"postfix-soft-4.2.2-delayed.eml", "sam@example.net: soft 4.2.2: subscriber 2: soft bounce 1 of 3 within 30 days\n"},
		{"postfix-soft-4.2.2-delayed.eml", "sam@example.net: soft 4.2.2: subscriber 2: soft bounce 2 of 3 within 30 days\n"},
		{"postfix-soft-4.2.2-delayed.eml", "sam@example.net: soft 4.2.2: subscriber 2 suppressed (bounced)\n"},
		{"yahoo-arf.eml", "complainer@yahoo.com: complaint: subscriber 3 suppressed (complained)\n"},
		{"nomatch-hard.eml", "unknown.person@example.com: hard 5.1.1: matched nobody: ignored\n"},
		{"postfix-delivered.eml", files["postfix-delivered.eml"] + ": no failed or delayed recipient in the report: nothing to record\n"},
	}
	for _, s := range steps {
		if got := c.ok("bounces", "ingest", files[s.file]); got != s.want {
			t.Errorf("ingest %s:\n got %q\nwant %q", s.file, got, s.want)
		}
	}
	list := c.ok("subscribers", "list")
	for _, want := range []string{"jane.doe@example.com  *bounced", "sam@example.net  *bounced", "complainer@yahoo.com  *complained", "stays@example.com  *active"} {
		if !matches(want, list) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "unknown.person") {
		t.Errorf("a report about nobody added someone:\n%s", list)
	}
	status := c.ok("status")
	for _, want := range []string{"bounces:     1 hard, 3 soft, 1 complaint in the last 30 days; latest:",
		"complaint  complainer@yahoo.com  (arf) abuse", "hard  jane.doe@example.com  (dsn) 5.1.1 550 5.1.1"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	for _, f := range []string{"plain-autoreply.eml", "broken-truncated.eml"} {
		_, _, err := c.run("bounces", "ingest", files[f], "--config", c.config)
		if err == nil {
			t.Errorf("ingest %s succeeded", f)
		}
	}
	_, _, err := c.run("bounces", "ingest", files["plain-autoreply.eml"], "--config", c.config)
	if want := files["plain-autoreply.eml"] + " is not a delivery status or feedback report (multipart/report): nothing recorded"; err == nil || err.Error() != want {
		t.Errorf("a plain email: %v, want %q", err, want)
	}
}

// `bounces ingest -` (or no file) reads the report from standard input, as
// an MTA's pipe hands it over.
func TestBouncesIngestReadsStandardInput(t *testing.T) {
	report, err := os.ReadFile(fixtureReport(t, "postfix-hard-5.1.1.eml"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	c.ok("subscribers", "add", "jane.doe@example.com", "--confirmed")
	for _, args := range [][]string{{"bounces", "ingest", "-"}, {"bounces", "ingest"}} {
		var out, errb bytes.Buffer
		m := &Main{Stdin: bytes.NewReader(report), Stdout: &out, Stderr: &errb, Env: []string{}}
		if err := m.Execute(context.Background(), append(args, "--config", c.config)); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		if d := cmp.Diff("jane.doe@example.com: hard 5.1.1: subscriber 1 suppressed (bounced)\n", out.String()); d != "" {
			t.Errorf("%v (-want +got):\n%s", args, d)
		}
	}
	help := c.ok("bounces", "ingest", "--help")
	if !strings.HasPrefix(help, "usage: practicemail bounces ingest [FILE.eml|-] [--config FILE]") {
		t.Errorf("help:\n%s", help)
	}
}

// matches reports whether a line of text matches the pattern, where " *"
// stands for any run of spaces (the list's columns).
func matches(pattern, text string) bool {
	parts := strings.Split(pattern, "  *")
	for _, line := range strings.Split(text, "\n") {
		rest, ok := line, true
		for i, p := range parts {
			j := strings.Index(rest, p)
			if j < 0 || (i > 0 && strings.TrimSpace(rest[:j]) != "") {
				ok = false
				break
			}
			rest = rest[j+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}
