package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/seal"
)

// The sealer seals with secrets.data_key and opens what a previous key
// sealed; without a key it says how to make one.
func TestAppSealer(t *testing.T) {
	old, cur := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	before, err := seal.New(old)
	if err != nil {
		t.Fatal(err)
	}
	sealed := before.Seal([]byte("text"), []byte("ad"))
	cfg := config.Default()
	cfg.Secrets.DataKey, cfg.Secrets.DataKeyPrevious = cur, [][]byte{old}
	s, err := (&App{Config: cfg}).sealer()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(sealed, []byte("ad")); err != nil || string(got) != "text" {
		t.Errorf("Open of an old seal = %q, %v", got, err)
	}
	if !s.Current(s.Seal([]byte("x"), nil)) || s.Current(sealed) {
		t.Error("new seals are not under secrets.data_key")
	}
	if _, err := (&App{Config: config.Default()}).sealer(); err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("sealer without a key: %v", err)
	}
}

// The classifier adds inquiries.crisis_words to the built-in phrases; a
// phrase validation would refuse falls back to the built-in ones, logged
// without the phrase.
func TestAppClassifier(t *testing.T) {
	cfg := config.Default()
	cfg.Inquiries.CrisisWords = []string{"walk into the sea"}
	c := (&App{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).classifier()
	if !c.Urgent("Some days I want to walk into the sea.") || !c.Urgent("I keep thinking about suicide") || c.Urgent("I had a sad week") {
		t.Error("configured or built-in phrase not classified as expected")
	}
	var logs bytes.Buffer
	cfg.Inquiries.CrisisWords = []string{"?!"}
	c = (&App{Config: cfg, Log: slog.New(slog.NewTextHandler(&logs, nil))}).classifier()
	if c == nil || !c.Urgent("I want to kill myself") || !strings.Contains(logs.String(), "crisis_words_refused") || strings.Contains(logs.String(), "?!") {
		t.Errorf("fallback: %v; logged %q", c, logs.String())
	}
}

// With the inquiry routes on and no data key, nothing starts: the one
// problem says how to make a key.
func TestNoDataKeyRefusesToStart(t *testing.T) {
	c := newCLI(t)
	conf := "database:\n  url: sqlite:" + c.dbPath + "\npractice:\n  notify_email: intake@example.org\n"
	if err := os.WriteFile(c.config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"run", "migrate"} {
		_, _, err := c.run(cmd, "--config", c.config)
		want := "secrets.data_key: required when practice.notify_email is set, to encrypt inquiries; make one with: openssl rand -base64 32"
		if err == nil || !strings.Contains(err.Error(), "has 1 problem(s):\n  "+want) {
			t.Errorf("%s without a data key: %v", cmd, err)
		}
	}
	if _, err := os.Stat(c.dbPath); err == nil {
		t.Error("a refused start created the database")
	}
}
