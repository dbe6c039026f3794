package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// previewCLI is a cli whose sequences.dir is dir.
func previewCLI(t *testing.T, dir string) *cli {
	t.Helper()
	c := newCLI(t)
	conf := "practice:\n  name: Stillpoint Counseling\n  booking_url: https://stillpoint.example/consult\n" +
		"sequences:\n  dir: " + dir + "\n"
	if err := os.WriteFile(c.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func shippedSequences(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "templates", "sequences"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Every step of the shipped sequence renders, to standard output and to
// files, with the sequence's subject, the crisis resources and the
// configured booking link; nothing opens a database.
func TestPreviewSequence(t *testing.T) {
	c := previewCLI(t, shippedSequences(t))
	subjects := []string{"Thanks for reaching out", "Something we often hear", "What a first session looks like",
		"An honest word before you decide", "Would a free consult help?"}
	for i, subject := range subjects {
		step := itoa(int64(i + 1))
		out := c.ok("preview", "sequence", "inquiry", step)
		for _, want := range []string{"sequence inquiry, step " + step + " of 5", "Subject: " + subject + "\n",
			"--- text ---", "call or text 988", "https://stillpoint.example/consult", "--- html ---", `href="tel:988"`} {
			if !strings.Contains(out, want) {
				t.Errorf("step %s lacks %q:\n%s", step, want, out)
			}
		}
	}
	dir := filepath.Join(t.TempDir(), "out")
	out := c.ok("preview", "sequence", "inquiry", "2", "--out", dir)
	if !strings.Contains(out, "wrote "+filepath.Join(dir, "inquiry-2.html")) {
		t.Errorf("--out said:\n%s", out)
	}
	html, err := os.ReadFile(filepath.Join(dir, "inquiry-2.html"))
	if err != nil || !strings.Contains(string(html), "<html") || !strings.Contains(string(html), "988") {
		t.Errorf("inquiry-2.html: %v\n%.300s", err, html)
	}
	text, err := os.ReadFile(filepath.Join(dir, "inquiry-2.txt"))
	if err != nil || !strings.HasPrefix(string(text), "Subject: Something we often hear\n\n") {
		t.Errorf("inquiry-2.txt: %v\n%.300s", err, text)
	}
	if _, err := os.Stat(c.dbPath); err == nil {
		t.Error("preview opened the database")
	}
}

// A sequence file the worker would refuse is refused with its file and
// line; an unknown sequence or step says what there is.
func TestPreviewSequenceRefuses(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(shippedSequences(t), "inquiry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := t.TempDir()
	body := strings.Replace(string(src), `"What a first session looks like"`, `"Your first ketamine session"`, 1)
	if err := os.WriteFile(filepath.Join(bad, "inquiry.yaml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		dir  string
		args []string
		want string
	}{
		{bad, []string{"inquiry", "1"}, filepath.Join(bad, "inquiry.yaml") + ":"},
		{shippedSequences(t), []string{"welcome", "1"}, `no sequence "welcome" in ` + shippedSequences(t) + " (it has: inquiry)"},
		{shippedSequences(t), []string{"inquiry", "6"}, "sequence inquiry has 5 steps: no step 6"},
		{shippedSequences(t), []string{"inquiry", "0"}, "STEP must be a step number, 1 for the first"},
		{shippedSequences(t), []string{"inquiry"}, "usage: practicemail preview sequence NAME STEP"},
	} {
		c := previewCLI(t, tt.dir)
		out, _, err := c.run(append(append([]string{"preview", "sequence"}, tt.args...), "--config", c.config)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || out != "" {
			t.Errorf("preview sequence %v: %v (printed %q); want an error with %q", tt.args, err, out, tt.want)
		}
	}
}
