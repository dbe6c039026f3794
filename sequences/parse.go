package sequences

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// parser collects every problem of one file.
type parser struct {
	file  string
	opts  Options
	probs Problems
}

func (p *parser) add(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.probs = append(p.probs, Problem{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func parse(file string, src []byte, opts Options) (*Sequence, Problems) {
	p := &parser{file: file, opts: opts}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		line := 0
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = strings.TrimPrefix(msg, m[0])
		}
		return nil, Problems{{File: file, Line: line, Msg: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}}
	}
	if len(doc.Content) == 0 {
		return nil, Problems{{File: file, Msg: "empty file"}}
	}
	seq := &Sequence{File: file}
	p.sequence(doc.Content[0], seq)
	if len(p.probs) > 0 {
		return nil, p.probs
	}
	seq.Version = version(seq.canonical())
	return seq, nil
}

// fields checks that n is a mapping with only the allowed keys, each once,
// and returns the value node of each key present.
func (p *parser) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.add(n, "%s: want a mapping with keys %s", what, strings.Join(allowed, ", "))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(allowed, k.Value):
			p.add(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(allowed, ", "))
		case out[k.Value] != nil:
			p.add(k, "%s: %q given twice", what, k.Value)
		default:
			out[k.Value] = v
		}
	}
	return out
}

// str returns the string value of a scalar, reporting anything else. A
// missing or empty value is reported when required.
func (p *parser) str(parent, n *yaml.Node, key string, required bool) (string, *yaml.Node) {
	if n == nil || n.Tag == "!!null" {
		if required {
			p.add(parent, "%s: required", key)
		}
		return "", parent
	}
	if n.Kind != yaml.ScalarNode {
		p.add(n, "%s: want a single value", key)
		return "", n
	}
	v := strings.TrimSpace(n.Value)
	if v == "" && required {
		p.add(n, "%s: required", key)
	}
	return v, n
}

func (p *parser) sequence(root *yaml.Node, seq *Sequence) {
	f := p.fields(root, "sequence", "name", "window", "sender", "steps")
	if f == nil {
		return
	}
	name, at := p.str(root, f["name"], "name", true)
	if name != "" && !nameRE.MatchString(name) {
		p.add(at, "name: %q: use lower-case letters, digits, - and _", name)
	}
	seq.Name = name
	if win, at := p.str(root, f["window"], "window", false); win != "" {
		w, err := ParseWindow(win)
		if err != nil {
			p.add(at, "%v", err)
		}
		seq.Window = w
	}
	seq.Sender, at = p.str(root, f["sender"], "sender", false)
	p.line(at, "sender", seq.Sender, maxSender)
	steps := f["steps"]
	if steps == nil || steps.Tag == "!!null" || (steps.Kind == yaml.SequenceNode && len(steps.Content) == 0) {
		p.add(root, "steps: at least one step is required")
		return
	}
	if steps.Kind != yaml.SequenceNode {
		p.add(steps, "steps: want a list of steps")
		return
	}
	prev := time.Duration(-1)
	for i, n := range steps.Content {
		st, ok := p.step(n, i+1)
		if ok && st.After <= prev {
			p.add(n, "step %d: after %s must be later than the step before (%s): after is counted from enrollment", i+1, st.After, prev)
		}
		if ok {
			prev = st.After
		}
		seq.Steps = append(seq.Steps, st)
	}
}

func (p *parser) step(n *yaml.Node, num int) (Step, bool) {
	what := fmt.Sprintf("step %d", num)
	f := p.fields(n, what, "after", "template", "subject", "preview")
	if f == nil {
		return Step{}, false
	}
	var st Step
	ok := true
	after, at := p.str(n, f["after"], what+": after", true)
	if after != "" {
		d, err := time.ParseDuration(after)
		switch {
		case err != nil:
			p.add(at, "%s: after %q: want a Go duration such as 0s, 30s, 48h or 72h30m", what, after)
			ok = false
		case d < 0:
			p.add(at, "%s: after %s: must not be negative", what, after)
			ok = false
		}
		st.After = d
	} else {
		ok = false
	}
	st.Template, at = p.str(n, f["template"], what+": template", true)
	p.template(at, what, st.Template)
	st.Subject, at = p.str(n, f["subject"], what+": subject", true)
	p.line(at, what+": subject", st.Subject, maxSubject)
	st.Preview, at = p.str(n, f["preview"], what+": preview", false)
	p.line(at, what+": preview", st.Preview, maxPreview)
	return st, ok
}

func (p *parser) template(at *yaml.Node, what, name string) {
	switch {
	case name == "":
	case !templateRE.MatchString(name):
		p.add(at, "%s: template %q: want a template name such as inquiry/thanks", what, name)
	case p.opts.HasTemplate != nil && !p.opts.HasTemplate(name):
		p.add(at, "%s: template %q does not exist", what, name)
	}
}

// line checks text shown in an inbox list: one line, not too long, and
// naming no condition or treatment.
func (p *parser) line(at *yaml.Node, what, s string, max int) {
	if s == "" {
		return
	}
	if strings.ContainsAny(s, "\r\n") {
		p.add(at, "%s: must be one line", what)
	}
	if n := utf8.RuneCountInString(s); n > max {
		p.add(at, "%s: %d characters; at most %d show in an inbox", what, n, max)
	}
	if term, found := p.opts.Screen.Find(s); found {
		p.add(at, "%s: names %q; subjects, preview text and sender names must not name a condition or treatment (they show in the inbox)", what, term)
	}
}
