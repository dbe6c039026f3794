package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load builds a Config from the defaults, then the YAML file at path (none
// when path is ""), then the PRACTICEMAIL_* variables of env (in the form of
// os.Environ), and validates it. Unknown keys, unknown variables and bad
// values are all reported together as Problems. A file that cannot be read
// or is not YAML at all is reported alone.
//
// Each problem with a key the file set ends with where: (practicemail.yaml:12),
// or (from PRACTICEMAIL_SMTP_URL) for a variable. Relative paths (a SQLite
// database, the outbox, the DKIM key, the sequences) are resolved against
// the file's directory, so that every command finds the same database
// wherever it is run from; without a file, against the working directory.
func Load(path string, env []string) (*Config, error) {
	l := &loader{cfg: Default(), file: path, lines: make(map[string]int), vars: make(map[string]string)}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := l.applyYAML(data); err != nil {
			return nil, fileLine(path, err)
		}
	}
	l.applyEnv(env)
	l.validate()
	if len(l.problems) > 0 {
		return nil, l.problems
	}
	if path != "" {
		l.cfg.resolvePaths(filepath.Dir(path))
	}
	l.cfg.HTTP.normalize()
	loc, err := time.LoadLocation(l.cfg.Practice.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("practice.time_zone: %w", err)
	}
	l.cfg.Practice.Location = loc
	return l.cfg, nil
}

// validate adds the problems Validate finds, with where each key was set,
// except for a key already refused while reading: its value is not the
// one written.
func (l *loader) validate() {
	refused := make(map[string]bool)
	for _, p := range l.problems {
		key, _, _ := strings.Cut(p, ": ")
		refused[key] = true
	}
	for _, p := range l.cfg.problems() {
		if key, _, _ := strings.Cut(p, ": "); !refused[key] {
			l.problems = append(l.problems, p+l.whereOf(p))
		}
	}
}

// loader carries the Config being built and every problem found so far.
type loader struct {
	cfg      *Config
	problems Problems
	file     string            // the YAML file, "" for none
	lines    map[string]int    // key path ("smtp.url", "feeds[0]") to its line in file
	vars     map[string]string // key path to the variable that set it
}

// at names a line of the file, as an editor takes it: practicemail.yaml:12.
func (l *loader) at(line int) string {
	return fmt.Sprintf("%s:%d", l.file, line)
}

// whereOf says where the key a validation problem is about was set: the
// variable, else the line of the key or, for a key the file left out, of
// its section or feed. "" when nothing set it (a default).
func (l *loader) whereOf(problem string) string {
	key, _, _ := strings.Cut(problem, ": ")
	// A variable replaces a whole list, lines of the file's items and all.
	for k := key; k != ""; k = parentKey(k) {
		if v, ok := l.vars[k]; ok {
			return " (from " + v + ")"
		}
	}
	for k := key; k != ""; k = parentKey(k) {
		if line, ok := l.lines[k]; ok {
			return " (" + l.at(line) + ")"
		}
	}
	return ""
}

// parentKey is "feeds[0]" for "feeds[0].url", "feeds" for "feeds[0]",
// "smtp" for "smtp.url", and "" for a section.
func parentKey(k string) string {
	if i := strings.LastIndexAny(k, ".["); i > 0 {
		return k[:i]
	}
	return ""
}

// yamlLine finds the line in the YAML parser's own messages.
var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): `)

// fileLine puts the file and line in front of a parse error, as in
// practicemail.yaml:3: did not find expected node content.
func fileLine(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "parse: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", path, m[1], msg[len(m[0]):])
	}
	return fmt.Errorf("config %s: %w", path, err)
}

// applyYAML walks the document itself, rather than decoding into structs
// with KnownFields, so that every unknown key is reported, not the first.
func (l *loader) applyYAML(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("parse: %w", err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return errors.New("parse: the file must hold exactly one YAML document")
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("parse: yaml: line %d: the file must be a mapping of sections", root.Line)
	}
	l.walkRoot(root)
	return nil
}

func (l *loader) walkRoot(root *yaml.Node) {
	for _, kv := range l.pairs("", root) {
		name := kv.key.Value
		l.lines[name] = kv.key.Line
		switch keys, known := sections[name]; {
		case name == "feeds":
			l.walkFeeds(kv.value)
		case known:
			walkMapping(l, name, kv.value, keys, listKeys, l.cfg)
		default:
			l.problems.add(name, "unknown section (%s)", l.at(kv.key.Line))
		}
	}
}

func (l *loader) walkFeeds(n *yaml.Node) {
	n = deref(n)
	if isNull(n) {
		l.cfg.Feeds = nil
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.problems.add("feeds", "must be a list of feeds (%s)", l.at(n.Line))
		return
	}
	feeds := make([]Feed, len(n.Content))
	for i, item := range n.Content {
		feeds[i] = DefaultFeed()
		l.lines["feeds["+strconv.Itoa(i)+"]"] = item.Line
		walkMapping(l, "feeds["+strconv.Itoa(i)+"]", item, feedKeys, nil, &feeds[i])
	}
	l.cfg.Feeds = feeds
}

// walkMapping sets dst from the scalar values of mapping n, and from the
// sequences of the keys in lists, reporting keys that keys does not know
// and values their setter refuses.
func walkMapping[T any](l *loader, path string, n *yaml.Node, keys map[string]setter[T], lists map[string]listSetter[T], dst *T) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.problems.add(path, "must be a mapping of keys (%s)", l.at(n.Line))
		return
	}
	for _, kv := range l.pairs(path+".", n) {
		key := path + "." + kv.key.Value
		set, known := keys[kv.key.Value]
		if !known {
			l.problems.add(key, "unknown key (%s)", l.at(kv.key.Line))
			continue
		}
		v := deref(kv.value)
		l.lines[key] = v.Line
		if list, ok := lists[key]; ok && v.Kind == yaml.SequenceNode {
			walkList(l, key, v, list, dst)
			continue
		}
		if v.Kind != yaml.ScalarNode {
			l.problems.add(key, "must be a single value, not a list or mapping (%s)", l.at(v.Line))
			continue
		}
		l.setProblem(key, set(dst, scalar(v)), func(int) string { return l.at(v.Line) })
	}
}

// walkList sets dst from the scalar items of sequence n; each item's
// problems name its own line.
func walkList[T any](l *loader, key string, n *yaml.Node, set listSetter[T], dst *T) {
	items := make([]string, len(n.Content))
	for i, item := range n.Content {
		item = deref(item)
		l.lines[fmt.Sprintf("%s[%d]", key, i)] = item.Line
		if item.Kind != yaml.ScalarNode {
			l.problems.add(fmt.Sprintf("%s[%d]", key, i), "must be a single value, not a list or mapping (%s)", l.at(item.Line))
			return
		}
		items[i] = strings.TrimSpace(scalar(item))
	}
	l.setProblem(key, set(dst, items), func(i int) string { return l.at(n.Content[i].Line) })
}

// setProblem reports the error a setter returned for key, if any; where
// says where an item (or, given -1, the key) was set.
func (l *loader) setProblem(key string, err error, where func(item int) string) {
	var items itemErrors
	switch {
	case err == nil:
	case errors.As(err, &items):
		for _, e := range items {
			l.problems.add(fmt.Sprintf("%s[%d]", key, e.index), "%v (%s)", e.err, where(e.index))
		}
	default:
		l.problems.add(key, "%v (%s)", err, where(-1))
	}
}

type pair struct{ key, value *yaml.Node }

// pairs returns the entries of mapping n, reporting keys given twice.
func (l *loader) pairs(prefix string, n *yaml.Node) []pair {
	var out []pair
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			l.problems.add(prefix+k.Value, "given twice (%s, first at line %d)", l.at(k.Line), line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k, v})
	}
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// scalar is the written value of n; "key:" and "key: ~" mean empty.
func scalar(n *yaml.Node) string {
	if isNull(n) {
		return ""
	}
	return n.Value
}
