package sequences

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var knownTemplates = map[string]bool{"inquiry/thanks": true, "news/hello": true}

func hasTemplate(name string) bool { return knownTemplates[name] }

func TestLoadDir(t *testing.T) {
	set, err := LoadDir("testdata/good", Options{HasTemplate: hasTemplate})
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if len(set) != 2 {
		t.Fatalf("loaded %d sequences, want 2 (README.txt is not one)", len(set))
	}
	w := set["welcome"]
	want := &Sequence{
		Name:   "welcome",
		Window: MustParseWindow("Mon,Wed 10:00-16:00"),
		Sender: "Dana at Stillpoint",
		File:   filepath.Join("testdata/good", "welcome.yaml"),
		Steps: []Step{
			{After: 0, Template: "inquiry/thanks", Subject: "Thanks for reaching out", Preview: "A real person will write back to you."},
			{After: 2 * time.Second, Template: "inquiry/thanks", Subject: "A second hello"},
			{After: 72*time.Hour + 30*time.Minute, Template: "inquiry/thanks", Subject: "Would a free consult help?"},
		},
		Version: w.Version,
	}
	if diff := cmp.Diff(want, w, cmp.AllowUnexported(Window{})); diff != "" {
		t.Errorf("welcome (-want +got):\n%s", diff)
	}
	if len(w.Version) != 16 {
		t.Errorf("Version %q: want 16 hex digits", w.Version)
	}
	if d := set["daily"]; d == nil || d.Window.String() != "every day 08:00-20:00" {
		t.Errorf("daily: %+v", d)
	}
}

// TestLoadRefuses lists, for each bad fixture, every problem expected at
// its line: all are reported at once.
func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		file string
		want []string // "line: fragment of the message"
	}{
		{"subject.yaml", []string{
			`5: step 1: subject: names "ketamine"`,
			`6: step 1: preview: names "self-harm"`,
			`9: step 2: subject: names "PTSD"`,
		}},
		{"everything.yaml", []string{
			`1: name: "Bad Name"`,
			`2: the start must be before the end`,
			`3: sender: names "depression"`,
			`4: unknown key "colour"`,
			`6: step 1: after "48": want a Go duration`,
			`9: step 2: after -1h: must not be negative`,
			`10: step 2: template "../etc/passwd"`,
			`11: step 2: subject: required`,
			`13: step 3: template "inquiry/missing" does not exist`,
			`15: step 3: "subject" given twice`,
			`16: step 4: after 12h0m0s must be later than the step before (24h0m0s)`,
			`18: step 4: unknown key "subjet"`,
			`16: step 4: subject: required`,
			`19: step 5: want a mapping`,
		}},
		{"syntax.yaml", []string{`2: not valid YAML`}}, // the line yaml names: where the block it could not finish began,
		{"nosteps.yaml", []string{`2: unknown day "someday"`, `1: steps: at least one step`}},
		{"empty.yaml", []string{`0: empty file`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata/bad", tt.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(path, src, Options{HasTemplate: hasTemplate})
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("Parse: %v, want Problems", err)
			}
			for _, w := range tt.want {
				line, frag, _ := strings.Cut(w, ": ")
				if !hasProblem(probs, path, line, frag) {
					t.Errorf("no problem %s:%s: …%s… in\n%s", path, line, frag, probs)
				}
			}
			if len(probs) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%s", len(probs), len(tt.want), probs)
			}
		})
	}
}

func hasProblem(probs Problems, file, line, frag string) bool {
	for _, p := range probs {
		if p.File == file && itoa(p.Line) == line && strings.Contains(p.Msg, frag) {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestLoadDirReportsEveryFile(t *testing.T) {
	_, err := LoadDir("testdata/bad", Options{HasTemplate: hasTemplate})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("LoadDir: %v, want Problems", err)
	}
	files := map[string]bool{}
	for _, p := range probs {
		files[filepath.Base(p.File)] = true
	}
	for _, f := range []string{"subject.yaml", "everything.yaml", "syntax.yaml", "nosteps.yaml", "empty.yaml"} {
		if !files[f] {
			t.Errorf("no problem reported for %s", f)
		}
	}
	if first := strings.SplitN(err.Error(), "\n", 2)[0]; !strings.HasPrefix(first, filepath.Join("testdata/bad", "empty.yaml")) {
		t.Errorf("problems not sorted by file: first line %q", first)
	}
}

func TestLoadDuplicateNames(t *testing.T) {
	seq := "name: same\nsteps:\n  - {after: 0s, template: inquiry/thanks, subject: Hi}\n"
	_, err := Load(fstest.MapFS{"a.yaml": {Data: []byte(seq)}, "b.yaml": {Data: []byte(seq)}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `b.yaml:1: sequence "same" is already defined in a.yaml`) {
		t.Fatalf("Load: %v", err)
	}
}

func TestLoadMissingDir(t *testing.T) {
	if _, err := LoadDir("testdata/nope", Options{}); err == nil {
		t.Fatal("LoadDir of a missing directory succeeded")
	}
}
