package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A problem found when the values are checked, not while reading them (a
// value out of range, a key required by another), names where the key was
// set: the file and line, the section when the file left the key out, or
// the environment variable.
func TestEveryProblemNamesTheFileAndLineOrVariable(t *testing.T) {
	_, path, err := loadYAMLAt(t, `practice:
  name: Stillpoint
smtp:
  url: smtp://smtp.example.org
  tls: sometimes
feeds:
  - name: blog
    url: https://example.org/feed
    every: 500ms
`, "PRACTICEMAIL_LOG_LEVEL=loud")
	p := problemsOf(t, err)
	for _, want := range []string{
		fmt.Sprintf(`smtp.tls: must be one of mandatory, opportunistic, none (got "sometimes") (%s:5)`, path),
		fmt.Sprintf(`feeds[0].every: must be at least 1s (got 500ms) (%s:9)`, path),
		fmt.Sprintf(`practice.from: required when smtp.url is set (%s:1)`, path),
		`log.level: must be one of debug, info, warn, error (got "loud") (from PRACTICEMAIL_LOG_LEVEL)`,
	} {
		found := false
		for _, got := range p {
			found = found || got == want
		}
		if !found {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}

// Commands run from another directory with --config find the same
// database: a relative path is the file's directory's, not the shell's.
func TestRelativePathsAreTheConfigurationFilesDirectorys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "practicemail.yaml")
	yaml := "database:\n  url: sqlite:data/pm.db\nsmtp:\n  outbox_dir: out\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Database.Path(), filepath.Join(dir, "data/pm.db"); got != want {
		t.Errorf("database path %q, want %q", got, want)
	}
	if got, want := c.SMTP.OutboxDir, filepath.Join(dir, "out"); got != want {
		t.Errorf("outbox %q, want %q", got, want)
	}
	c, err = Load(path, []string{"PRACTICEMAIL_DATABASE_URL=sqlite:/srv/pm.db"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Database.Path(); got != "/srv/pm.db" {
		t.Errorf("absolute database path became %q", got)
	}
	c, err = Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Database.Path(); got != "data/practicemail.db" {
		t.Errorf("without a file the database path is %q, want it relative to the working directory", got)
	}
}

func TestRedactURLHidesOnlyThePassword(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@blog.example/feed": "https://user:xxxxx@blog.example/feed",
		"https://blog.example/feed?x=1":         "https://blog.example/feed?x=1",
		"postgres://pm:pw@db/pm?sslmode=off":    "postgres://pm:xxxxx@db/pm?sslmode=off",
		"https://u:p@bad host/\x7f":             "https://…",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
