package sequences

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const baseSeq = `name: v
window: "Mon-Fri 09:00-17:00"
steps:
  - after: 0s
    template: inquiry/thanks
    subject: "Thanks for reaching out"
  - after: 48h
    template: inquiry/thanks
    subject: "A second note"
`

func mustParse(t *testing.T, src string) *Sequence {
	t.Helper()
	s, err := Parse("v.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

func TestVersion(t *testing.T) {
	base := mustParse(t, baseSeq)
	same := map[string]string{
		"comments and spacing": "# a comment\n" + strings.ReplaceAll(baseSeq, "after: 48h", "after:   48h   # two days"),
		"key order":            strings.Replace(baseSeq, "name: v\nwindow: \"Mon-Fri 09:00-17:00\"\n", "window: \"mon-fri 09:00-17:00\"\nname: v\n", 1),
		"duration spelling":    strings.ReplaceAll(baseSeq, "after: 48h", "after: 2880m"),
	}
	for name, src := range same {
		if v := mustParse(t, src).Version; v != base.Version {
			t.Errorf("%s changed the version: %s, want %s", name, v, base.Version)
		}
	}
	changed := map[string]string{
		"subject":   strings.ReplaceAll(baseSeq, "A second note", "Another note"),
		"after":     strings.ReplaceAll(baseSeq, "after: 48h", "after: 72h"),
		"template":  strings.ReplaceAll(baseSeq, "    template: inquiry/thanks\n    subject: \"A second", "    template: inquiry/other\n    subject: \"A second"),
		"window":    strings.ReplaceAll(baseSeq, "09:00-17:00", "10:00-17:00"),
		"step gone": baseSeq[:strings.Index(baseSeq, "  - after: 48h")],
		"preview":   baseSeq + "    preview: \"hello\"\n",
	}
	for name, src := range changed {
		if v := mustParse(t, src).Version; v == base.Version {
			t.Errorf("changing the %s kept the version %s", name, v)
		}
	}
}

// TestSnapshot: an enrollment stores Snapshot and later reads back exactly
// the sequence it started with, whatever the file says by then.
func TestSnapshot(t *testing.T) {
	seq := mustParse(t, baseSeq+"    preview: \"hello\"\n")
	seq.Sender = "Dana"
	seq.Version = version(seq.canonical())
	back, err := FromSnapshot(seq.Snapshot())
	if err != nil {
		t.Fatalf("FromSnapshot: %v", err)
	}
	want := *seq
	want.File = ""
	if diff := cmp.Diff(&want, back, cmp.AllowUnexported(Window{})); diff != "" {
		t.Errorf("snapshot round trip (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{`, `{"name":"x","window":"Mon-Fry 09:00-17:00","steps":[]}`, `{"name":"x","window":"","steps":[{"after":"soon"}]}`} {
		if _, err := FromSnapshot([]byte(bad)); err == nil {
			t.Errorf("FromSnapshot(%s) succeeded", bad)
		}
	}
}
