package templates

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
)

// layout and partialsDir are the shared files; every other pair under the
// root is an email, named by its path without the root and extension.
const (
	layout      = "layout"
	partialsDir = "partials"
)

// load parses every template pair under root in fsys.
func load(fsys fs.FS, root string) (map[string]email, error) {
	names, err := pairs(fsys, root)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, layout) {
		return nil, fmt.Errorf("templates: %s: missing", path.Join(root, layout+".html"))
	}
	var shared []string
	for _, n := range names {
		if n == layout || strings.HasPrefix(n, partialsDir+"/") {
			shared = append(shared, path.Join(root, n))
		}
	}
	baseHTML := htmltemplate.New("root").Funcs(htmltemplate.FuncMap(funcs))
	baseText := texttemplate.New("root").Funcs(funcs)
	for _, file := range shared {
		if err := parseHTML(fsys, baseHTML, file+".html"); err != nil {
			return nil, err
		}
		if err := parseText(fsys, baseText, file+".txt"); err != nil {
			return nil, err
		}
	}
	emails := make(map[string]email)
	for _, n := range names {
		if n == layout || strings.HasPrefix(n, partialsDir+"/") {
			continue
		}
		em, err := loadEmail(fsys, baseHTML, baseText, path.Join(root, n))
		if err != nil {
			return nil, err
		}
		emails[n] = em
	}
	return emails, nil
}

// pairs walks root and returns the name (path without root and extension) of
// every template, failing if an .html file has no .txt twin or the reverse.
func pairs(fsys fs.FS, root string) ([]string, error) {
	exts := make(map[string][]string)
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := path.Ext(p)
		if ext != ".html" && ext != ".txt" {
			return fmt.Errorf("%s: not an .html or .txt template", p)
		}
		name := strings.TrimPrefix(strings.TrimSuffix(p, ext), root+"/")
		exts[name] = append(exts[name], ext)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	names := make([]string, 0, len(exts))
	for name, got := range exts {
		if len(got) != 2 {
			twin := map[string]string{".html": ".txt", ".txt": ".html"}[got[0]]
			return nil, fmt.Errorf("templates: %s has no %s twin", path.Join(root, name+got[0]), twin)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// loadEmail parses one email's pair on top of clones of the shared templates.
func loadEmail(fsys fs.FS, baseHTML *htmltemplate.Template, baseText *texttemplate.Template, file string) (email, error) {
	h, err := baseHTML.Clone()
	if err != nil {
		return email{}, fmt.Errorf("templates: %s.html: %w", file, err)
	}
	t, err := baseText.Clone()
	if err != nil {
		return email{}, fmt.Errorf("templates: %s.txt: %w", file, err)
	}
	if err := parseHTML(fsys, h, file+".html"); err != nil {
		return email{}, err
	}
	if err := parseText(fsys, t, file+".txt"); err != nil {
		return email{}, err
	}
	if h.Lookup("content") == nil {
		return email{}, fmt.Errorf("templates: %s.html: defines no \"content\" template", file)
	}
	if t.Lookup("content") == nil {
		return email{}, fmt.Errorf("templates: %s.txt: defines no \"content\" template", file)
	}
	if err := checkCalls(t); err != nil {
		return email{}, fmt.Errorf("templates: %s.txt: %w", file, err)
	}
	if err := escapeNow(h); err != nil {
		return email{}, fmt.Errorf("templates: %s.html: %w", file, err)
	}
	return email{html: h, text: t}, nil
}

func parseHTML(fsys fs.FS, t *htmltemplate.Template, file string) error {
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	if _, err := t.New(file).Parse(string(src)); err != nil {
		return fmt.Errorf("templates: %s: %w", file, err)
	}
	return nil
}

func parseText(fsys fs.FS, t *texttemplate.Template, file string) error {
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	if _, err := t.New(file).Parse(string(src)); err != nil {
		return fmt.Errorf("templates: %s: %w", file, err)
	}
	return nil
}

// escapeNow makes html/template do its contextual escaping analysis, which it
// otherwise defers to the first Execute, so that an ambiguous template fails
// New rather than the first send. Executing with nil data fails at the first
// field lookup; only escaping problems are returned as *htmltemplate.Error.
func escapeNow(t *htmltemplate.Template) error {
	err := t.ExecuteTemplate(io.Discard, layout, nil)
	if e := (*htmltemplate.Error)(nil); errors.As(err, &e) {
		return err
	}
	return nil
}

// checkCalls fails if any template in t calls a template that is not
// defined; text/template would otherwise fail only when it gets there.
func checkCalls(t *texttemplate.Template) error {
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		if name := undefinedCall(t, tt.Tree.Root); name != "" {
			return fmt.Errorf("%s calls undefined template %q", tt.Name(), name)
		}
	}
	return nil
}

// undefinedCall returns the name of the first undefined template called
// under n, or "".
func undefinedCall(t *texttemplate.Template, n parse.Node) string {
	var branches []*parse.ListNode
	switch n := n.(type) {
	case *parse.TemplateNode:
		if t.Lookup(n.Name) == nil {
			return n.Name
		}
	case *parse.ListNode:
		branches = append(branches, n)
	case *parse.IfNode:
		branches = append(branches, n.List, n.ElseList)
	case *parse.RangeNode:
		branches = append(branches, n.List, n.ElseList)
	case *parse.WithNode:
		branches = append(branches, n.List, n.ElseList)
	}
	for _, l := range branches {
		if l == nil {
			continue
		}
		for _, c := range l.Nodes {
			if name := undefinedCall(t, c); name != "" {
				return name
			}
		}
	}
	return ""
}
