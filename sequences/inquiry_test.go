package sequences

import (
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"time"
)

// emailNames lists the email templates under ../templates/email as the
// templates package names them (a pair NAME.html and NAME.txt). This
// package imports no other of ours; templates/sequences_test.go checks the
// same file against the embedded engine itself.
func emailNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := fs.WalkDir(os.DirFS("../templates/email"), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Ext(p) == ".html" {
			names[strings.TrimSuffix(p, ".html")] = true
		}
		return err
	})
	if err != nil || len(names) == 0 {
		t.Fatalf("list email templates: %v (%d found)", err, len(names))
	}
	return names
}

// TestShippedInquirySequence loads the real templates/sequences directory.
func TestShippedInquirySequence(t *testing.T) {
	names := emailNames(t)
	set, err := LoadDir("../templates/sequences", Options{HasTemplate: func(n string) bool { return names[n] }})
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	seq := set["inquiry"]
	if seq == nil {
		t.Fatal("no inquiry sequence")
	}
	if seq.Window.String() != "Mon-Fri 09:00-17:00" {
		t.Errorf("window %s", seq.Window)
	}
	// Enrolled on a Friday evening in Denver: the acknowledgement goes at
	// once and every later step on a weekday within 09:00-17:00 there.
	den := zone(t, "America/Denver")
	start := time.Date(2026, 12, 4, 19, 45, 0, 0, den)
	prev := time.Time{}
	for i := range seq.Steps {
		at := seq.SendAt(i, start, den)
		if i == 0 && !at.Equal(start) {
			t.Errorf("acknowledgement at %s, want at once", at)
		}
		if i > 0 && (!seq.Window.contains(at) || !at.After(prev)) {
			t.Errorf("step %d at %s: closed, or not after step %d (%s)", i+1, at, i, prev)
		}
		prev = at
	}
}
