package feeds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// Check fetches and parses a feed as a first poll would, and says how many
// items it has; a page that is no feed, or a server error, is its error.
func TestCheckFetchesAndParsesTheFeed(t *testing.T) {
	feed, err := os.ReadFile("testdata/atom.xml")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("testdata/homepage.html")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/feed":
			w.Write(feed)
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			w.Write(page)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := NewFetcher(FetcherOptions{})
	parsed, err := Parse(feed, srv.URL+"/feed")
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Check(context.Background(), srv.URL+"/feed")
	if err != nil || got != fmt.Sprintf("%d items", len(parsed.Items)) {
		t.Fatalf("Check(feed) = %q, %v; want %d items", got, err, len(parsed.Items))
	}
	if _, err := f.Check(context.Background(), srv.URL+"/page"); !errors.Is(err, ErrNotFeed) {
		t.Errorf("Check(an HTML page) = %v, want ErrNotFeed", err)
	}
	var fe *FetchError
	if _, err := f.Check(context.Background(), srv.URL+"/gone"); !errors.As(err, &fe) {
		t.Errorf("Check(a 404) = %v, want a *FetchError", err)
	}
}
