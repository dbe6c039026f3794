package sequences

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Problem is one thing wrong in a sequence file, at a line of it.
type Problem struct {
	File string
	Line int // 0 when the problem is about the whole file
	Msg  string
}

// String gives the problem as file:line: message, as compilers do, so that
// editors can jump to it.
func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Msg
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// Problems is every problem found while loading, sorted by file and line,
// so that the person fixing the files sees all of them at once.
type Problems []Problem

// Error lists every problem on its own line as file:line: message.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Options tune Load.
type Options struct {
	// HasTemplate reports whether an email template exists (the templates
	// engine's Has); nil skips the check.
	HasTemplate func(name string) bool
	// Screen refuses subjects, preview text and sender names that name a
	// condition or treatment; nil means DefaultScreen().
	Screen *Screen
}

// Set is every sequence of a directory, by name.
type Set map[string]*Sequence

// LoadDir loads every *.yaml and *.yml file directly in dir. Problems name
// files by their path under dir, joined to dir.
func LoadDir(dir string, opts Options) (Set, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("sequences: %w", err)
	}
	return load(os.DirFS(dir), func(name string) string { return filepath.Join(dir, name) }, opts)
}

// Load is LoadDir for any file system, such as an embedded one; files are
// named as in fsys.
func Load(fsys fs.FS, opts Options) (Set, error) {
	return load(fsys, func(name string) string { return name }, opts)
}

func load(fsys fs.FS, display func(string) string, opts Options) (Set, error) {
	if opts.Screen == nil {
		opts.Screen = DefaultScreen()
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("sequences: %w", err)
	}
	set := Set{}
	first := map[string]string{} // sequence name -> file that defined it
	var probs Problems
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		file := display(e.Name())
		src, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			probs = append(probs, Problem{File: file, Msg: err.Error()})
			continue
		}
		seq, ps := parse(file, src, opts)
		probs = append(probs, ps...)
		if seq == nil {
			continue
		}
		if prev, dup := first[seq.Name]; dup {
			probs = append(probs, Problem{File: file, Line: 1, Msg: fmt.Sprintf("sequence %q is already defined in %s", seq.Name, prev)})
			continue
		}
		first[seq.Name] = file
		set[seq.Name] = seq
	}
	if len(probs) > 0 {
		slices.SortStableFunc(probs, func(a, b Problem) int {
			return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
		})
		return nil, probs
	}
	return set, nil
}

// Parse parses and validates one sequence file; file names it in problems.
func Parse(file string, src []byte, opts Options) (*Sequence, error) {
	if opts.Screen == nil {
		opts.Screen = DefaultScreen()
	}
	seq, probs := parse(file, src, opts)
	if len(probs) > 0 {
		return nil, probs
	}
	return seq, nil
}

var (
	nameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	templateRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$`)
)

// Limits keep subjects and preview text to what an inbox shows.
const (
	maxSubject = 78
	maxPreview = 140
	maxSender  = 64
)
