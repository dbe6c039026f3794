package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/practicemail/practicemail/internal/config"
)

// redactURL hides a URL's password.
func redactURL(s string) string { return config.RedactURL(s) }

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
