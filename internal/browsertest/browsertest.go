// Package browsertest runs Debian's headless Chromium for tests, driven
// from Go over the DevTools protocol (chromedp), in a phone-sized window,
// and keeps a screenshot of every step as a test artifact.
//
// Without a chromium on PATH a test skips, or fails when CI=true: CI
// installs it (.ci/run, make test), so a missing browser there is a broken
// machine, not a reason to pass.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Width and Height are the window, in CSS pixels: a small phone held
// upright, the narrowest screen the public pages must read well on.
const (
	Width  = 360
	Height = 800
)

// DefaultTimeout bounds everything one test does in the browser.
const DefaultTimeout = 90 * time.Second

// Options tune New; the zero value is a 360×800 window, JavaScript on,
// DefaultTimeout.
type Options struct {
	Timeout      time.Duration
	NoJavaScript bool // the pages must work with scripts off
}

// Browser is one tab of a headless Chromium of the test's own.
type Browser struct {
	t     testing.TB
	ctx   context.Context // the tab, bounded by the test's timeout
	dir   string          // this test's screenshots
	steps int
}

// execNames are the names a Chromium goes by, Debian's first.
var execNames = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

// ExecPath is the Chromium binary found on PATH.
func ExecPath() (string, error) {
	for _, n := range execNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH (Debian: apt-get install chromium; make test and .ci/run install it)")
}

// New starts headless Chromium for t and opens a tab; both end with the
// test. Without a Chromium it skips t, or fails it when CI=true.
func New(t testing.TB, o Options) *Browser {
	t.Helper()
	path, err := ExecPath()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test: %v (CI=true, so this fails instead of skipping)", err)
		}
		t.Skipf("browser test skipped: %v (set CI=true to make this a failure)", err)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(Width, Height),
		chromedp.UserDataDir(t.TempDir()),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first action starts the browser, and lives as long as it: it
	// must not carry the test's deadline. Chromium's own start is bounded
	// by chromedp's wait for its DevTools address.
	if err := chromedp.Do(tabCtx, setup(o)...); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	ctx, cancel := context.WithTimeout(tabCtx, o.Timeout)
	t.Cleanup(cancel)
	b := &Browser{t: t, ctx: ctx, dir: filepath.Join(ArtifactsDir(), safeName(t.Name()))}
	if err := os.RemoveAll(b.dir); err != nil { // a previous run's shots would mislead
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

// setup makes the page a phone's: 360 px wide whatever the window
// manager did, touch on, and scripts off when asked.
func setup(o Options) []chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(Width, Height, chromedp.EmulateMobile)}
	if o.NoJavaScript {
		steps = append(steps, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}))
	}
	return steps
}

// Context is the tab's context, for chromedp.Run and Do with actions this
// package does not wrap.
func (b *Browser) Context() context.Context { return b.ctx }

// Dir is where this test's screenshots go.
func (b *Browser) Dir() string { return b.dir }

// Do runs the actions as one named step and keeps a screenshot of the page
// after it, also when the step failed (which fails the test).
func (b *Browser) Do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	err := chromedp.Do(b.ctx, actions...)
	b.Shot(step)
	if err != nil {
		b.t.Fatalf("browser step %q: %v", step, err)
	}
}

// Navigate opens url as a named step and returns the document's HTTP
// status.
func (b *Browser) Navigate(step, url string) int {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(url))
	b.Shot(step)
	if err != nil {
		b.t.Fatalf("browser step %q: open %s: %v", step, url, err)
	}
	return int(resp.Status)
}

// Submit runs actions that lead to a new page (a click on a submit button)
// as a named step, waits for that page, and returns its response.
func (b *Browser) Submit(step string, actions ...chromedp.Action[chromedp.Void]) *network.Response {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, actions...)
	b.Shot(step)
	if err != nil {
		b.t.Fatalf("browser step %q: %v", step, err)
	}
	return resp
}

// Text is the visible text of the first element matching the CSS selector.
func (b *Browser) Text(css string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", css, err)
	}
	return s
}

// Eval evaluates a JavaScript expression in the page (through DevTools, so
// it works with the page's scripts off) and returns its value.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.EvaluateAsDevTools[T](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// Shot saves a screenshot of the whole page as <dir>/<NN>-<step>.png and
// returns its path. A screenshot that cannot be taken is logged, not
// fatal: the step's own outcome decides the test.
func (b *Browser) Shot(step string) string {
	b.t.Helper()
	b.steps++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.steps, safeName(step)))
	// A shot of a step that ran out of time still shows where it stood.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		b.t.Logf("browser: screenshot %s: %v", path, err)
		return ""
	}
	b.t.Logf("browser: step %q: %s", step, path)
	return path
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafe.ReplaceAllString(s, "_") }

// ArtifactsDir is where screenshots go: PRACTICEMAIL_ARTIFACTS, else
// artifacts/browser at the top of the module (gitignored).
func ArtifactsDir() string {
	if d := os.Getenv("PRACTICEMAIL_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(moduleRoot(), "artifacts", "browser")
}

// moduleRoot is the nearest directory above the working directory (a
// test's is its package's) holding go.mod.
func moduleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}
