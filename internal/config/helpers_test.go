package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests name zones; do not depend on the machine's zoneinfo

	"github.com/google/go-cmp/cmp"
)

// cmpConfig compares locations by name: *time.Location has unexported
// fields; so has netip.Prefix, compared by ==.
var cmpConfig = cmp.Options{
	cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// writeFile writes content to a new file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadYAML loads content as a config file, with env.
func loadYAML(t *testing.T, content string, env ...string) (*Config, error) {
	t.Helper()
	cfg, _, err := loadYAMLAt(t, content, env...)
	return cfg, err
}

// loadYAMLAt is loadYAML that also returns the file's path.
func loadYAMLAt(t *testing.T, content string, env ...string) (*Config, string, error) {
	t.Helper()
	path := writeFile(t, "practicemail.yaml", content)
	cfg, err := Load(path, env)
	return cfg, path, err
}

// defaultBeside is Default with its relative paths resolved as Load does
// for a file at path.
func defaultBeside(path string) *Config {
	c := Default()
	c.resolvePaths(filepath.Dir(path))
	return c
}

// problemsOf fails the test unless err is Problems.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("error = %v (%T), want Problems", err, err)
	}
	return p
}

// keysOf is the key path (or variable name) each problem starts with.
func keysOf(p Problems) []string {
	keys := make([]string, len(p))
	for i, line := range p {
		keys[i], _, _ = strings.Cut(line, ": ")
	}
	return keys
}

// wantProblem fails the test unless err is Problems holding a line that
// starts with key and contains fragment.
func wantProblem(t *testing.T, err error, key, fragment string) {
	t.Helper()
	for _, line := range problemsOf(t, err) {
		if strings.HasPrefix(line, key+": ") && strings.Contains(line, fragment) {
			return
		}
	}
	t.Errorf("no problem %q containing %q in:\n%v", key, fragment, err)
}
