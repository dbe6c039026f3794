package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/store"
)

// cli runs practicemail in-process with its own outputs.
type cli struct {
	t              *testing.T
	config, dbPath string
}

// newCLI returns a cli with a configuration of its own, a SQLite file in a
// temporary directory, run from that directory so that nothing a command
// wrongly creates lands in the source tree.
func newCLI(t *testing.T) *cli {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	c := &cli{t: t, config: filepath.Join(dir, "practicemail.yaml"), dbPath: filepath.Join(dir, "pm.db")}
	if err := os.WriteFile(c.config, []byte("database:\n  url: sqlite:"+c.dbPath+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs a command and returns its standard output, standard error and error.
func (c *cli) run(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Env: []string{}}
	err = m.Execute(context.Background(), args)
	return out.String(), errb.String(), err
}

// ok runs a command with the cli's configuration, failing the test if it fails.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errs, err := c.run(append(args, "--config", c.config)...)
	if err != nil {
		c.t.Fatalf("practicemail %s: %v\n%s", strings.Join(args, " "), err, errs)
	}
	return out
}

// allCommands is every command and subcommand, as typed.
func allCommands() [][]string {
	var out [][]string
	for _, c := range commands {
		out = append(out, []string{c.name})
	}
	for parent, subs := range map[string][]command{"subscribers": subscriberCommands, "bounces": bounceCommands,
		"inquiries": inquiryCommands, "mail": mailCommands, "preview": previewCommands} {
		for _, c := range subs {
			out = append(out, []string{parent, c.name})
		}
	}
	return out
}

func TestEveryCommandPrintsHelpToStdout(t *testing.T) {
	newCLI(t)
	type helpCase struct {
		args   []string
		prefix string
	}
	cases := []helpCase{
		{[]string{"--help"}, "usage: practicemail COMMAND"},
		{[]string{"-h"}, "usage: practicemail COMMAND"},
		{[]string{"help"}, "usage: practicemail COMMAND"},
		{[]string{"help", "subscribers", "add"}, "usage: practicemail subscribers add EMAIL"},
	}
	for _, c := range allCommands() {
		prefix := "usage: practicemail " + strings.Join(c, " ")
		cases = append(cases, helpCase{append(c, "--help"), prefix}, helpCase{append(c, "-h"), prefix})
	}
	cases = append(cases, helpCase{[]string{"subscribers", "add", "a@example.com", "--confirmed", "--help"},
		"usage: practicemail subscribers add"})
	for _, tt := range cases {
		out, errs, err := (&cli{}).run(tt.args...)
		switch {
		case err != nil:
			t.Errorf("practicemail %s: %v", strings.Join(tt.args, " "), err)
		case errs != "":
			t.Errorf("practicemail %s wrote to stderr: %q", strings.Join(tt.args, " "), errs)
		case !strings.HasPrefix(out, tt.prefix):
			t.Errorf("practicemail %s printed:\n%s\nwant it to start %q", strings.Join(tt.args, " "), out, tt.prefix)
		}
	}
}

// Each misuse fails with one line that says what is wrong and, for a value
// out of a set, the choices; nothing else is printed.
func TestMisuseFailsWithOneLineNamingTheChoices(t *testing.T) {
	c := newCLI(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "no command given: choose from run, web, "},
		{[]string{"bogus"}, `unknown command "bogus": choose from run, web, `},
		{[]string{"subscribers"}, "subscribers: say which: add, import, list, export, erase"},
		{[]string{"subscribers", "bogus"}, `subscribers: unknown command "bogus": choose from add, import, list, export, erase`},
		{[]string{"subscribers", "add", "a@example.com", "--topics", "foo", "--config", c.config},
			`unknown topic "foo": choose from posts, news`},
		{[]string{"subscribers", "import", "x.csv", "--topics", "posts,foo", "--config", c.config},
			`unknown topic "foo": choose from posts, news`},
		{[]string{"subscribers", "list", "--status", "bogus", "--config", c.config},
			`unknown status "bogus": choose from active, pending, unsubscribed, bounced, complained`},
		{[]string{"subscribers", "export", "--status", "gone", "--config", c.config}, `unknown status "gone"`},
		{[]string{"subscribers", "add", "a@example.com", "--nmae", "A"}, "flag provided but not defined: -nmae"},
		{[]string{"status", "--bogus"}, "flag provided but not defined: -bogus (practicemail status --help shows the usage)"},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
	} {
		out, errs, err := c.run(tt.args...)
		switch {
		case err == nil:
			t.Errorf("practicemail %s succeeded", strings.Join(tt.args, " "))
		case !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n"):
			t.Errorf("practicemail %s: %q, want one line with %q", strings.Join(tt.args, " "), err, tt.want)
		case out != "" || errs != "":
			t.Errorf("practicemail %s printed %q and %q besides the error", strings.Join(tt.args, " "), out, errs)
		}
	}
	if _, err := os.Stat(c.dbPath); err == nil {
		t.Error("a refused command opened the database")
	}
}

func TestSubscribersAddKeepsTheNameOfAnAddress(t *testing.T) {
	c := newCLI(t)
	c.ok("subscribers", "add", "Jane Doe <Jane@Example.com>", "--confirmed")
	c.ok("subscribers", "add", "Ann <ann@example.com>", "--name", "Ann Other")
	want := map[string]string{"jane@example.com": "Jane Doe", "ann@example.com": "Ann Other"}
	for email, name := range want {
		if s := c.subscriber(email); s.Name != name {
			t.Errorf("%s has the name %q, want %q", email, s.Name, name)
		}
	}
}

func TestSubscribersAddCleansControlCharactersFromNames(t *testing.T) {
	c := newCLI(t)
	c.ok("subscribers", "add", "jane@example.com", "--name", "Jane\r\nBcc: x@example.com\u202e")
	if s := c.subscriber("jane@example.com"); s.Name != "Jane Bcc: x@example.com" {
		t.Errorf("stored name %q", s.Name)
	}
}

// A name an older version stored with CR/LF and a terminal escape once broke
// the list: each person stays on one line, the characters shown escaped.
func TestSubscribersListEscapesControlCharactersStoredBefore(t *testing.T) {
	c := newCLI(t)
	c.ok("subscribers", "add", "jane@example.com")
	raw, err := sql.Open("sqlite", c.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE subscribers SET name = ?`, "Jane\r\nINJECTED\x1b[31m\u202eevil"); err != nil {
		t.Fatal(err)
	}
	out := c.ok("subscribers", "list")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[1], `Jane\r\nINJECTED\x1b[31m\u202eevil`) {
		t.Errorf("list printed %d lines:\n%q", len(lines), out)
	}
	if strings.ContainsAny(out, "\r\x1b\u202e") {
		t.Errorf("list printed a control character: %q", out)
	}
}

// An unsubscribed export imported with --confirmed: nobody becomes active,
// the summary says why, and export carries the file's consent record.
func TestSubscribersImportOfAnUnsubscribedExportSaysSoAndKeepsConsent(t *testing.T) {
	c := newCLI(t)
	c.ok("subscribers", "add", "ada@example.com", "--confirmed")
	csv := `"Email Address","First Name","Last Name",MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,LEID,EUID
ada@example.com,Ada,Lovelace,2,"2019-04-05 06:07:08",,,,"2023-11-12 13:14:15",News,1,a
bob@example.com,Bob,"Smith
Jones",2,"2018-01-02 03:04:05",,,,"2023-11-12 13:14:15",News,2,b
`
	path := filepath.Join(t.TempDir(), "unsubscribed.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out := c.ok("subscribers", "import", path, "--confirmed")
	want := "added 0, updated 0, suppressed 2, skipped 0\nsuppressed (unsubscribed in the file): 2\n"
	if out != want {
		t.Errorf("import said:\n%s\nwant:\n%s", out, want)
	}
	if out := c.ok("subscribers", "list", "--status", "active"); out != "no subscribers with status active\n" {
		t.Errorf("active after the import:\n%s", out)
	}
	export := c.ok("subscribers", "export")
	for _, line := range []string{
		"ada@example.com,Ada Lovelace,unsubscribed,posts,,cli,", // she was here first: her consent record stays
		"bob@example.com,Bob Smith Jones,unsubscribed,posts,,mailchimp via import:unsubscribed.csv,2018-01-02T03:04:05Z,",
	} {
		if !strings.Contains(export, "\n"+line) {
			t.Errorf("export lacks %q:\n%s", line, export)
		}
	}
}

func (c *cli) subscriber(email string) *store.Subscriber {
	c.t.Helper()
	db, err := store.Open(context.Background(), "sqlite:"+c.dbPath)
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	s, err := db.SubscriberByEmail(context.Background(), email)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

func TestVersionCommandAndFlag(t *testing.T) {
	newCLI(t)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, err := (&cli{}).run(args...)
		if err != nil || !strings.HasPrefix(out, "practicemail dev ("+runtime.Version()) {
			t.Errorf("practicemail %s = %q, %v", args[0], out, err)
		}
	}
}

func TestVersionLineNamesTheRevisionWithoutLdflags(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "38f2cb4a1b2c3d4e5f60718293a4b5c6d7e8f901"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	got := versionLine("dev", "go1.26.0", info)
	want := "practicemail dev (go1.26.0, revision 38f2cb4a1b2c of 2026-12-01T10:00:00Z, with uncommitted changes)"
	if got != want {
		t.Errorf("versionLine = %q\nwant          %q", got, want)
	}
	installed := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}
	if got := versionLine("dev", "go1.26.0", installed); got != "practicemail v1.4.0 (go1.26.0)" {
		t.Errorf("versionLine of an installed module = %q", got)
	}
}

// The Makefile sets the version with -ldflags "-X main.version=…": the
// binary built so says it.
func TestVersionIsTheOneTheMakefileSets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "practicemail")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, "./cmd/practicemail")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "practicemail v9.8.7-test (go") {
		t.Errorf("practicemail --version = %q, %v", out, err)
	}
}
