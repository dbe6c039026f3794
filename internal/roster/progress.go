package roster

import (
	"fmt"
	"io"
	"os"
)

// TerminalProgress returns an Options.Progress that redraws
// "importing 1500/20000 (7%)" on one line of w when w is a terminal, and ends
// the line when the import is done. When w is not a terminal (a pipe, a file,
// a log) it prints nothing, so scripts get only the summary.
func TerminalProgress(w io.Writer) func(done, total int) {
	if f, ok := w.(*os.File); !ok || !isTerminal(f) {
		return func(int, int) {}
	}
	return drawProgress(w)
}

// isTerminal reports whether f is a character device. golang.org/x/term is
// not a requirement of this module, and a character device is what a
// terminal is to every platform Go runs the CLI on; the one other such device
// a user points stderr at, /dev/null, discards the drawing anyway.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func drawProgress(w io.Writer) func(done, total int) {
	return func(done, total int) {
		if total <= 0 {
			return
		}
		fmt.Fprintf(w, "\rimporting %d/%d (%d%%)", done, total, done*100/total)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}
