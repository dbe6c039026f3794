package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnknownKeysAreNamed(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"top level", "smpt:\n  url: smtp://x\n", "smpt: unknown section (%s:1)"},
		{"nested", "practice:\n  name: A\n  nmae: B\n", "practice.nmae: unknown key (%s:3)"},
		{"feed item", "feeds:\n  - name: blog\n    url: https://example.org/feed\n    evry: 1m\n", "feeds[0].evry: unknown key (%s:4)"},
		{"second feed item", "feeds:\n  - name: a\n    url: https://example.org/a\n  - name: b\n    link: https://example.org/b\n", "feeds[1].link: unknown key (%s:5)"},
		{"key given twice", "http:\n  addr: :1\n  addr: :2\n", "http.addr: given twice (%s:3, first at line 2)"},
		{"mapping where a value belongs", "smtp:\n  rate:\n    n: 3\n", "smtp.rate: must be a single value, not a list or mapping (%s:3)"},
		{"section not a mapping", "smtp: smtp://x\n", "smtp: must be a mapping of keys (%s:1)"},
		{"feeds not a list", "feeds:\n  name: blog\n", "feeds: must be a list of feeds (%s:2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadYAMLAt(t, tt.yaml)
			p := problemsOf(t, err)
			if tt.want = fmt.Sprintf(tt.want, path); !contains(p, tt.want) {
				t.Errorf("problems lack %q:\n%v", tt.want, err)
			}
		})
	}
}

// TestEveryProblemAtOnce puts a bad value in nearly every key and wants
// each one reported by a single Load.
func TestEveryProblemAtOnce(t *testing.T) {
	_, err := loadYAML(t, `
practice:
  name: ""
  base_url: mail.example.org
  time_zone: Mars/Olympus
  notify_email: not an address
  booking_url: /consult
  from: ""
  reply_to: "a@"
  colour: blue
http:
  addr: localhost
database:
  url: mysql://db/pm
redis:
  url: memcached://127.0.0.1
smtp:
  url: smtp://smtp.example.org
  tls: sometimes
  connections: 65
  rate: fast
  timeout: soon
  dkim_domain: example.org
feeds:
  - name: "my blog"
    url: ftp://example.org/feed
    every: 500ms
    mode: weekly
  - name: b
    url: https://example.org/b
    mode: digest
  - name: B
    url: https://example.org/c
    digest: Monday 9am
secrets:
  link_key: short
  data_key: "!!!"
worker:
  concurrency: 0
log:
  level: verbose
  format: xml
`, "PRACTICEMAIL_SMTP_CONECTIONS=4")
	want := []string{
		"practice.colour",
		"smtp.rate",
		"smtp.timeout",
		"secrets.data_key",
		"PRACTICEMAIL_SMTP_CONECTIONS",
		"practice.name",
		"practice.base_url",
		"practice.booking_url",
		"practice.time_zone",
		"practice.from",
		"practice.postal_address",
		"practice.reply_to",
		"practice.notify_email",
		"http.addr",
		"database.url",
		"redis.url",
		"smtp.tls",
		"smtp.connections",
		"smtp.dkim_selector",
		"smtp.dkim_key_file",
		"feeds[0].name",
		"feeds[0].url",
		"feeds[0].every",
		"feeds[0].mode",
		"feeds[2].name",
		"feeds[2].digest",
		"secrets.link_key",
		"worker.concurrency",
		"log.level",
		"log.format",
	}
	p := problemsOf(t, err)
	if diff := cmp.Diff(want, keysOf(p)); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s\nfull error:\n%v", diff, err)
	}
	wantLines := []string{
		`smtp.tls: must be one of mandatory, opportunistic, none (got "sometimes")`,
		`feeds[2].name: "B" is already the name of feeds[1]`,
		`smtp.connections: must be between 1 and 64 (got 65)`,
		`practice.from: required when smtp.url is set`,
	}
	for _, line := range wantLines {
		if !contains(p, line) {
			t.Errorf("problems lack %q", line)
		}
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != len(want) {
		t.Errorf("Error() has %d lines, want one per problem (%d)", got, len(want))
	}
}

func TestUnreadableFiles(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"not YAML", "practice: [\n", "practicemail.yaml:1: did not find expected node content"},
		{"two documents", "practice:\n  name: A\n---\nhttp:\n  addr: :1\n", "exactly one YAML document"},
		{"a list", "- practice\n", "must be a mapping of sections"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.yaml)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := Load("testdata/no-such-file.yaml", nil); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "~\n"} {
		got, path, err := loadYAMLAt(t, content)
		if err != nil {
			t.Fatalf("Load(%q): %v", content, err)
		}
		if diff := cmp.Diff(defaultBeside(path), got, cmpConfig); diff != "" {
			t.Errorf("Load(%q) (-want +got):\n%s", content, diff)
		}
	}
}

// contains reports whether p has line, with or without where it was set
// (" (file:line)" or " (from VARIABLE)").
func contains(p Problems, line string) bool {
	for _, got := range p {
		if got == line || strings.HasPrefix(got, line+" (") {
			return true
		}
	}
	return false
}
