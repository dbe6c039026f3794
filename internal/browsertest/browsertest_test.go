package browsertest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/practicemail/practicemail/internal/browsertest"
)

const formPage = `<!doctype html><html><head><meta name="viewport" content="width=device-width">
<title>form</title></head><body>
<form method="post" action="/done"><label for="email">Email</label>
<input id="email" name="email" type="email"><button type="submit">Send</button></form>
<p id="js">scripts off</p><script>document.getElementById("js").textContent = "scripts on"</script>
</body></html>`

// A form filled in and submitted in the browser reaches the server, the
// page is 360 px wide, and each step leaves a screenshot.
func TestBrowserFillsInAFormAtPhoneWidth(t *testing.T) {
	for _, noJS := range []bool{false, true} {
		name := map[bool]string{false: "scripts-on", true: "scripts-off"}[noJS]
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var posted string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					r.ParseForm()
					mu.Lock()
					posted = r.PostForm.Get("email")
					mu.Unlock()
					w.WriteHeader(http.StatusAccepted)
					io.WriteString(w, `<!doctype html><p id="thanks">Thanks</p>`)
					return
				}
				io.WriteString(w, formPage)
			}))
			defer srv.Close()
			dir := t.TempDir()
			t.Setenv("PRACTICEMAIL_ARTIFACTS", dir)

			b := browsertest.New(t, browsertest.Options{NoJavaScript: noJS})
			if code := b.Navigate("open", srv.URL); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if w := browsertest.Eval[int](b, "window.innerWidth"); w != browsertest.Width {
				t.Fatalf("page is %d px wide, want %d", w, browsertest.Width)
			}
			wantJS := map[bool]string{false: "scripts on", true: "scripts off"}[noJS]
			if got := b.Text("#js"); got != wantJS {
				t.Fatalf("script paragraph says %q, want %q", got, wantJS)
			}
			b.Do("fill", chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"))
			resp := b.Submit("submit", chromedp.Click(chromedp.CSS("button[type=submit]")))
			if resp.Status != http.StatusAccepted || b.Text("#thanks") != "Thanks" {
				t.Fatalf("after submit: status %d", resp.Status)
			}
			mu.Lock()
			got := posted
			mu.Unlock()
			if got != "ada@example.com" {
				t.Fatalf("server got email %q", got)
			}
			shots, err := filepath.Glob(filepath.Join(b.Dir(), "*.png"))
			if err != nil {
				t.Fatal(err)
			}
			for i := range shots {
				shots[i] = filepath.Base(shots[i])
			}
			if d := cmp.Diff([]string{"01-open.png", "02-fill.png", "03-submit.png"}, shots); d != "" {
				t.Fatalf("screenshots (-want +got):\n%s", d)
			}
			if fi, err := os.Stat(filepath.Join(b.Dir(), "03-submit.png")); err != nil || fi.Size() < 100 {
				t.Fatalf("screenshot: %v", err)
			}
		})
	}
}
