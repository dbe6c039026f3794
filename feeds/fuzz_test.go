package feeds

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse mutations of the fixtures. Parse must never panic,
// and every item it returns must have a Key and an absolute (or no) URL.
// Run it with: go test ./feeds -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range fixtures {
		if info, err := os.Stat(name); err != nil || info.IsDir() {
			continue
		}
		f.Add(readFixture(f, filepath.Base(name)), "https://blog.example.com/feed/")
	}
	f.Add([]byte(`{"version":"https://jsonfeed.org/version/1.1","items":[{"url":"javascript:x"}]}`), "")
	f.Fuzz(func(t *testing.T, body []byte, baseURL string) {
		feed, err := Parse(body, baseURL)
		if err != nil {
			return
		}
		for i, it := range feed.Items {
			if it.Key == "" {
				t.Errorf("item %d has no Key", i)
			}
			if it.URL != "" {
				u, err := url.Parse(it.URL)
				if err != nil || !u.IsAbs() || u.Host == "" {
					t.Errorf("item %d URL %q is not absolute", i, it.URL)
				}
			}
		}
	})
}
