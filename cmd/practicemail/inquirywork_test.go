package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/store/storetest"
	"github.com/practicemail/practicemail/templates"
	"github.com/practicemail/practicemail/worker"
)

// The worker gets what its inquiry tasks need from the configuration: the
// sealer, the sequences of sequences.dir, the notification address and
// whether the transport may carry a notification; a sequence file that
// does not load stops the start with its file and line.
func TestWorkerGetsInquiryWork(t *testing.T) {
	eng, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := filepath.Abs(filepath.Join("..", "..", "templates", "sequences"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Practice.NotifyEmail, cfg.Practice.BookingURL = "intake@stillpoint.example", "https://book.example/"
	cfg.Secrets.DataKey = bytes.Repeat([]byte{3}, 32)
	cfg.Sequences.Dir = shipped
	cfg.SMTP.URL, cfg.SMTP.TLS = "smtp://mail.example:587", "opportunistic"
	a := &App{Config: cfg}
	w := worker.New(storetest.Open(t, "sqlite"), worker.Options{})
	if err := a.inquiryWork(w, eng); err != nil {
		t.Fatal(err)
	}
	in := w.Inquiries
	if in.Opener == nil || in.Sequences[worker.InquirySequence] == nil || in.NotifyEmail != "intake@stillpoint.example" ||
		in.BookingURL != "https://book.example/" || !strings.Contains(in.NotifyRefused, "smtp.tls: mandatory") ||
		w.Options.InquiryRetention != config.DefaultInquiryRetention {
		t.Errorf("inquiry work = %+v, retention %s", in, w.Options.InquiryRetention)
	}

	bad := t.TempDir()
	src := "name: inquiry\nsteps:\n  - after: 0s\n    template: inquiry/thanks\n    subject: \"About your depression\"\n"
	if err := os.WriteFile(filepath.Join(bad, "inquiry.yaml"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Sequences.Dir = bad
	if err := a.inquiryWork(worker.New(storetest.Open(t, "sqlite"), worker.Options{}), eng); err == nil ||
		!strings.Contains(err.Error(), "inquiry.yaml:5") {
		t.Errorf("a condition in a subject: %v, want refused at file:line", err)
	}
}
