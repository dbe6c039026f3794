package roster_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/roster"
)

func TestSummaryWrite(t *testing.T) {
	s := &roster.Summary{Rows: 189, Added: 182, Updated: 3, Skipped: []roster.Skipped{
		{7, "bob@", `invalid email address: "bob@"`},
		{9, "", "no email address"},
		{12, "a\nvery long address " + strings.Repeat("x", 80), "invalid email address: too long"},
	}, Notes: []string{"decoded as Windows-1252 (the file is not valid UTF-8)"}}
	var b bytes.Buffer
	s.Write(&b)
	want := `added 182, updated 3, skipped 3:
  line 7: bob@: invalid email address: "bob@"
  line 9: no email address
  line 12: a very long address xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…: invalid email address: too long
note: decoded as Windows-1252 (the file is not valid UTF-8)
`
	if b.String() != want {
		t.Errorf("Write:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestSummaryWriteNothingSkipped(t *testing.T) {
	var b bytes.Buffer
	(&roster.Summary{Rows: 2, Added: 2}).Write(&b)
	if b.String() != "added 2, updated 0, skipped 0\n" {
		t.Errorf("Write = %q", b.String())
	}
}

func TestSummaryWriteCapsSkipped(t *testing.T) {
	s := &roster.Summary{}
	for i := range 53 {
		s.Skipped = append(s.Skipped, roster.Skipped{Line: i + 2, Email: fmt.Sprintf("x%d@", i), Reason: "invalid"})
	}
	var b bytes.Buffer
	s.Write(&b)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 52 || lines[50] != "  line 51: x49@: invalid" || lines[51] != "  ... and 3 more" {
		t.Errorf("%d lines, ending %q", len(lines), lines[len(lines)-2:])
	}
}
