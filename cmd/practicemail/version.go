package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

func cmdVersion(_ context.Context, m *Main, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(m.Stdout, versionLine(version, runtime.Version(), info))
	return nil
}

// versionLine says which practicemail this is: the version the Makefile set
// with -ldflags "-X main.version=…", else the module's version when it was
// installed with `go install …@v1.2.3`; then the Go version and, when the
// binary was built from a git checkout, the revision it was built from.
func versionLine(v, goVersion string, info *debug.BuildInfo) string {
	settings := map[string]string{}
	if info != nil {
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
	}
	parts := []string{goVersion}
	if rev := settings["vcs.revision"]; rev != "" {
		r := "revision " + rev[:min(len(rev), 12)]
		if t := settings["vcs.time"]; t != "" {
			r += " of " + t
		}
		if settings["vcs.modified"] == "true" {
			r += ", with uncommitted changes"
		}
		parts = append(parts, r)
	}
	return fmt.Sprintf("practicemail %s (%s)", v, strings.Join(parts, ", "))
}
