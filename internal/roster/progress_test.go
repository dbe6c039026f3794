package roster

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDrawProgress(t *testing.T) {
	var b bytes.Buffer
	draw := drawProgress(&b)
	draw(0, 0) // an empty file draws nothing
	if b.Len() != 0 {
		t.Fatalf("drew %q for an empty file", b.String())
	}
	draw(1500, 20000)
	mid := b.String()
	draw(20000, 20000)
	end := b.String()[len(mid):]
	t.Logf("%q then %q", mid, end)
	for _, want := range []string{"importing", "7%", "(1500/20000"} {
		if !strings.Contains(mid, want) {
			t.Errorf("part way the bar %q lacks %q", mid, want)
		}
	}
	for _, want := range []string{"\r", "100%", "(20000/20000"} {
		if !strings.Contains(end, want) {
			t.Errorf("at the end the bar %q lacks %q", end, want)
		}
	}
	if !strings.HasSuffix(end, "\n") || strings.Count(b.String(), "\n") != 1 {
		t.Errorf("the bar should end its line once, at the end: %q", b.String())
	}
}

func TestTerminalProgressIsQuietOffTerminal(t *testing.T) {
	var b bytes.Buffer
	TerminalProgress(&b)(5, 10)
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	TerminalProgress(f)(10, 10)
	if fi, _ := f.Stat(); b.Len() != 0 || fi.Size() != 0 {
		t.Errorf("wrote %q to a buffer and %d bytes to a file", b.String(), fi.Size())
	}
}

func TestSniffDelimiter(t *testing.T) {
	for text, want := range map[string]rune{
		"email,name\n":                ',',
		"E-Mail;Vorname;Nachname\r\n": ';',
		"email\tname\n":               '\t',
		`"Name; Last",email` + "\n":   ',',
		"\n\nemail;name\n":            ';',
		"email\n":                     ',',
	} {
		if got := sniffDelimiter(text); got != want {
			t.Errorf("sniffDelimiter(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestFindColumns(t *testing.T) {
	c, err := findColumns([]string{" EMAIL ", "First_Name", "LNAME", "Member Status", "email_disabled", "Email Address"})
	if err != nil {
		t.Fatal(err)
	}
	want := columns{email: 0, name: -1, first: 1, last: 2, status: 3, disabled: 4, topics: -1, timeZone: -1,
		unsubTime: -1, cleanTime: -1, consentAt: -1, consentSource: -1, optinTime: -1, confirmTime: -1, createdAt: -1,
		platform: "substack", width: 6}
	if c != want {
		t.Errorf("findColumns = %+v, want %+v", c, want)
	}
}
