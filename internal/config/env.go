package config

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment variable Load reads. Any other
// variable with this prefix is refused, so that a typo does not go unnoticed.
const EnvPrefix = "PRACTICEMAIL_"

// maxFeeds bounds the feed index an environment variable may name.
const maxFeeds = 100

// envTarget is the key one environment variable sets.
type envTarget struct {
	key string // as in problems: "smtp.url", "feeds[0].url"
	set setter[Config]
}

// sectionVars maps "SMTP_OUTBOX_DIR" (the name after EnvPrefix) to its key.
var sectionVars = func() map[string]envTarget {
	m := make(map[string]envTarget)
	for section, keys := range sections {
		for key, set := range keys {
			name := strings.ToUpper(section + "_" + key)
			m[name] = envTarget{key: section + "." + key, set: set}
		}
	}
	return m
}()

// feedVar matches PRACTICEMAIL_FEEDS_<index>_<KEY>, after EnvPrefix. Indexes
// count from 0 as in the YAML list; naming the next index adds a feed.
var feedVar = regexp.MustCompile(`^FEEDS_([0-9]{1,6})_([A-Z_]+)$`)

// applyEnv applies the PRACTICEMAIL_* variables of env over the YAML, in
// name order so that problems come out the same way every time.
func (l *loader) applyEnv(env []string) {
	vars := make(map[string]string)
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, EnvPrefix) {
			vars[name] = value
		}
	}
	names := slices.Sorted(maps.Keys(vars))
	setBy := make(map[string]string)
	for _, name := range names {
		t, fromFile, ok := resolveVar(strings.TrimPrefix(name, EnvPrefix))
		if !ok {
			l.problems.add(name, "unknown environment variable")
			continue
		}
		if other, dup := setBy[t.key]; dup {
			l.problems.add(t.key, "set by both %s and %s; use one", other, name)
			continue
		}
		setBy[t.key] = name
		l.vars[t.key] = name
		l.applyVar(t, name, vars[name], fromFile)
	}
}

func (l *loader) applyVar(t envTarget, name, value string, fromFile bool) {
	if fromFile {
		data, err := os.ReadFile(value)
		if err != nil {
			l.problems.add(t.key, "cannot read the file %s names: %v", name, err)
			return
		}
		value = strings.TrimRight(string(data), "\r\n")
	}
	l.setProblem(t.key, t.set(l.cfg, value), func(int) string { return "from " + name })
}

// resolveVar finds the key a variable name (without EnvPrefix) sets, and
// whether it is the _FILE form whose value is a path to read the value from.
func resolveVar(name string) (t envTarget, fromFile, ok bool) {
	if t, ok := lookupVar(name); ok {
		return t, false, true
	}
	if base, cut := strings.CutSuffix(name, "_FILE"); cut {
		if t, ok := lookupVar(base); ok {
			return t, true, true
		}
	}
	return envTarget{}, false, false
}

func lookupVar(name string) (envTarget, bool) {
	if t, ok := sectionVars[name]; ok {
		return t, true
	}
	m := feedVar.FindStringSubmatch(name)
	if m == nil {
		return envTarget{}, false
	}
	index, _ := strconv.Atoi(m[1]) // six digits at most: cannot fail
	key := strings.ToLower(m[2])
	set, ok := feedKeys[key]
	if !ok {
		return envTarget{}, false
	}
	return envTarget{key: fmt.Sprintf("feeds[%d].%s", index, key), set: feedSetter(index, set)}, true
}

// feedSetter sets a key of feed index, adding default feeds up to it.
func feedSetter(index int, set setter[Feed]) setter[Config] {
	return func(c *Config, v string) error {
		if index >= maxFeeds {
			return fmt.Errorf("feed index must be below %d", maxFeeds)
		}
		for len(c.Feeds) <= index {
			c.Feeds = append(c.Feeds, DefaultFeed())
		}
		return set(&c.Feeds[index], v)
	}
}
