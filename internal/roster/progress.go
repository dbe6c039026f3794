package roster

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// TerminalProgress returns an Options.Progress that draws a progress bar
// ("importing  37% |█████     | (7500/20000, 9012 it/s) [0s:1s]") on one
// line of w when w is a terminal, and ends the line when the import is
// done. When w is not a terminal (a pipe, a file, a log) it prints
// nothing, so scripts get only the summary.
func TerminalProgress(w io.Writer) func(done, total int) {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return func(int, int) {}
	}
	return drawProgress(w)
}

// drawProgress draws the bar on w, whatever w is. The bar is made at the
// first call, when the number of rows is known.
func drawProgress(w io.Writer) func(done, total int) {
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if total <= 0 {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription("importing"),
				progressbar.OptionSetWidth(30),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("rows"),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
		}
		bar.Set(min(done, total))
	}
}
