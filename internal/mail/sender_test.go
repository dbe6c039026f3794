package mail

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/mail/mailtest"
)

func TestOpenValidates(t *testing.T) {
	tests := []struct {
		name  string
		o     Options
		wants []string // every problem is reported
	}{
		{"tls none to a remote host", Options{URL: "smtp://smtp.example.com:587", TLS: TLSNone}, []string{"only for loopback"}},
		{"tls none to a name resolving anywhere", Options{URL: "smtp://mail.local", TLS: TLSNone}, []string{"only for loopback"}},
		{"several problems", Options{URL: "http://:99999", TLS: "sometimes", Connections: -1},
			[]string{"scheme", "no host", "bad port", "sometimes", "negative"}},
		{"outbox without dir", Options{}, []string{"outbox_dir"}},
		{"none with smtps", Options{URL: "smtps://127.0.0.1", TLS: TLSNone}, []string{"contradicts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.o)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	for _, ok := range []Options{
		{URL: "smtp://127.0.0.1:2525", TLS: TLSNone},
		{URL: "smtp://[::1]:2525", TLS: TLSNone},
		{URL: "smtp://localhost", TLS: TLSNone},
		{URL: "smtps://user:pass@smtp.example.com"},
		{URL: "smtp://smtp.example.com:587", TLS: TLSOpportunistic},
	} {
		s, err := Open(context.Background(), ok)
		if err != nil {
			t.Errorf("Open(%q, %q): %v", ok.URL, ok.TLS, err)
			continue
		}
		_ = s.Close()
	}
}

func TestOutboxWritesParseableFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	s, err := Open(context.Background(), Options{OutboxDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg := prepared(t)
	var paths []string
	for i := range 3 {
		r := recipient(i)
		path, err := s.SendReply(context.Background(), envelopeFrom, r.Address, msg, r, nil)
		if err != nil {
			t.Fatalf("SendReply: %v", err)
		}
		paths = append(paths, path)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("outbox dir: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("outbox holds %d entries, want 3 (no temporary files left)", len(entries))
	}
	for i, path := range paths {
		if !strings.HasSuffix(path, "-d"+string(rune('0'+i))+".p1.eml") {
			t.Errorf("file name %q does not end with the message id", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p := mailtest.Parse(t, data)
		if p.TextPart == "" || p.HTMLPart == "" || p.Header.Get("List-Unsubscribe-Post") == "" {
			t.Errorf("%s: parts or headers missing", path)
		}
		if !strings.Contains(p.HTMLPart, recipient(i).Values[0]) {
			t.Errorf("%s: html lacks the recipient's token", path)
		}
	}
}

// The outbox file is the message itself, as a mail client opens it: not
// dot-stuffed, no terminating dot; with DKIM, the signature header in front.
// A file written as SMTP DATA content showed each CSS rule of the layout's
// style block (".outer-cell {") as "..outer-cell {", and ended in a dot.
func TestOutboxWritesTheMessageAsIs(t *testing.T) {
	p := dottedMessage(t)
	r := recipient(3)
	var want bytes.Buffer
	if _, err := p.WriteTo(&want, r); err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, dkim := range map[string]*DKIMOptions{
		"unsigned": nil,
		"signed":   {Domain: "stillpoint.example", Selector: "mail", PrivateKey: pemKey(t, edKey)},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(context.Background(), Options{OutboxDir: t.TempDir(), DKIM: dkim})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			path, err := s.SendReply(context.Background(), envelopeFrom, r.Address, p, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if dkim != nil {
				if !bytes.HasPrefix(got, []byte("DKIM-Signature: ")) {
					t.Fatalf("signed file does not start with its signature:\n%.200s", got)
				}
				verifyDKIM(t, got, edKey.Public())
				got = got[bytes.Index(got, []byte("\r\nDate: "))+2:]
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("outbox file differs from the message\n got: %q\nwant: %q", tail(got), tail(want.Bytes()))
			}
		})
	}
}

// dottedMessage is a message with lines that start with a dot, which SMTP
// DATA doubles and a file must not, dated at a fixed time.
func dottedMessage(t *testing.T) *Prepared {
	t.Helper()
	c := testContent()
	c.Text = ".a line with a leading dot\n..two\n.\n" + c.Text
	c.HTML = ".<p>" + c.HTML
	p, err := Prepare(c, []string{phUnsub, phPrefs})
	if err != nil {
		t.Fatal(err)
	}
	fixed := time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return fixed }
	return p
}

// tail is the end of a message, where the terminating dot would be.
func tail(b []byte) []byte { return b[max(0, len(b)-80):] }

// TestPoolSendsExactBytes checks that what the server receives is exactly
// what WriteTo produces, including lines that start with a dot.
func TestPoolSendsExactBytes(t *testing.T) {
	p := dottedMessage(t)
	srv := mailtest.NewServer(t)
	pool := openPool(t, srv.URL, 1)
	r := recipient(7)
	if err := pool.Send(context.Background(), envelopeFrom, r.Address, p, r); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if _, err := p.WriteTo(&want, r); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()[0].Data
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("server received:\n%s\nwant:\n%s", got, want.Bytes())
	}
}
