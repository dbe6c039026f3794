//go:build linux

package roster

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: the side a program writes to, and the
// side that reads what a person would see.
func openPTY(t *testing.T) (term, screen *os.File) {
	t.Helper()
	screen, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { screen.Close() })
	fd := int(screen.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	term, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	return term, screen
}

// On a real terminal the bar is drawn, and its line ended at the end.
func TestTerminalProgressDrawsOnATerminal(t *testing.T) {
	term, screen := openPTY(t)
	// A bar that never ends its line fails the test instead of hanging it.
	screen.SetReadDeadline(time.Now().Add(10 * time.Second))
	seen := make(chan string, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for !strings.Contains(b.String(), "\n") {
			n, err := screen.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		seen <- b.String()
	}()
	progress := TerminalProgress(term)
	progress(500, 1000)
	progress(1000, 1000)
	out := <-seen
	for _, want := range []string{"importing", "(500/1000", "100%", "(1000/1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal showed %q, without %q", out, want)
		}
	}
}
