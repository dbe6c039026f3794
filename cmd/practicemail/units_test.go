package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedUnitsVerify: systemd-analyze verify accepts the shipped units
// without a word: deploy/practicemail.service, and each role of the
// template deploy/practicemail@.service (whose instance name is the role).
// It checks that the binary exists, so the path is pointed at one of the
// test's own.
func TestShippedUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is not installed (CI=true, so this fails instead of skipping)")
		}
		t.Skip("systemd-analyze is not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct{ shipped, as, role string }{
		{"practicemail.service", "practicemail.service", "run"},
		{"practicemail@.service", "practicemail@web.service", "web"},
		{"practicemail@.service", "practicemail@worker.service", "worker"},
		{"practicemail@.service", "practicemail@scheduler.service", "scheduler"},
	} {
		b, err := os.ReadFile(filepath.Join("../../deploy", c.shipped))
		if err != nil {
			t.Fatal(err)
		}
		unit := string(b)
		if !strings.Contains(unit, "ExecStart=/usr/local/bin/practicemail ") {
			t.Fatalf("%s: no ExecStart of /usr/local/bin/practicemail", c.shipped)
		}
		unit = strings.ReplaceAll(unit, "/usr/local/bin/practicemail", exe)
		path := filepath.Join(dir, c.as)
		if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", path).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s (%s): %v\n%s", c.as, c.shipped, err, out)
		}
		// The role runs as the instance's name says.
		exec := "ExecStart=" + exe + " " + c.role + " --config /etc/practicemail/practicemail.yaml"
		if c.role != "run" {
			exec = "ExecStart=" + exe + " %i --config /etc/practicemail/practicemail.yaml"
		}
		if !strings.Contains(unit, exec) {
			t.Errorf("%s: no line %q", c.shipped, exec)
		}
	}
}
