package feeds

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const feedBody = `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>`

// fetchErr fetches url and returns the *FetchError, failing the test if
// the fetch succeeded or failed some other way.
func fetchErr(t *testing.T, f *Fetcher, url string) *FetchError {
	t.Helper()
	res, err := f.Fetch(context.Background(), url, Validators{})
	if err == nil {
		t.Fatalf("Fetch(%s) = %+v, want an error", url, res)
	}
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("Fetch(%s) error %T %v, want *FetchError", url, err, err)
	}
	t.Logf("error: %s", fe.Error())
	if strings.Contains(fe.Error(), "\n") {
		t.Errorf("error %q spans lines", fe.Error())
	}
	return fe
}

func TestFetchConditionalGET(t *testing.T) {
	const etag, lastMod = `"v1-abc"`, "Tue, 07 Jan 2025 16:00:00 GMT"
	var mu sync.Mutex
	var seen []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		if r.Header.Get("If-None-Match") == etag && r.Header.Get("If-Modified-Since") == lastMod {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, feedBody)
	}))
	defer srv.Close()
	f := NewFetcher(FetcherOptions{UserAgent: UserAgent("1.2.3")})

	first, err := f.Fetch(context.Background(), srv.URL+"/feed", Validators{})
	if err != nil {
		t.Fatal(err)
	}
	want := &FetchResult{Body: []byte(feedBody), Validators: Validators{etag, lastMod}, URL: srv.URL + "/feed"}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first fetch (-want +got):\n%s", diff)
	}

	second, err := f.Fetch(context.Background(), srv.URL+"/feed", first.Validators)
	if err != nil {
		t.Fatal(err)
	}
	want = &FetchResult{NotModified: true, Validators: Validators{etag, lastMod}, URL: srv.URL + "/feed"}
	if diff := cmp.Diff(want, second); diff != "" {
		t.Errorf("second fetch (-want +got):\n%s", diff)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(seen))
	}
	checks := []struct {
		req          int
		header, want string
	}{
		{0, "User-Agent", "practicemail/1.2.3 (+https://github.com/practicemail/practicemail)"},
		{0, "Accept", acceptHeader},
		{0, "If-None-Match", ""},
		{0, "If-Modified-Since", ""},
		{1, "If-None-Match", etag},
		{1, "If-Modified-Since", lastMod},
	}
	for _, c := range checks {
		if got := seen[c.req].Get(c.header); got != c.want {
			t.Errorf("request %d %s = %q, want %q", c.req+1, c.header, got, c.want)
		}
	}
}

func TestFetchGzip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Errorf("Accept-Encoding = %q, want gzip offered", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		fmt.Fprint(zw, feedBody)
		zw.Close()
	}))
	defer srv.Close()
	res, err := NewFetcher(FetcherOptions{}).Fetch(context.Background(), srv.URL, Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Body) != feedBody {
		t.Errorf("Body = %q, want the decompressed feed", res.Body)
	}
}

// redirector serves /r/N as a redirect to /r/N-1, and /r/0 as the feed;
// /moved redirects to a 404.
func redirector() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/nowhere", http.StatusFound)
			return
		}
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if n > 0 {
			http.Redirect(w, r, "/r/"+strconv.Itoa(n-1), http.StatusMovedPermanently)
			return
		}
		fmt.Fprint(w, feedBody)
	}))
}

func TestFetchRedirects(t *testing.T) {
	srv := redirector()
	defer srv.Close()
	f := NewFetcher(FetcherOptions{})
	for _, hops := range []int{1, 3, MaxRedirects} {
		t.Run(fmt.Sprintf("%d hops", hops), func(t *testing.T) {
			res, err := f.Fetch(context.Background(), fmt.Sprintf("%s/r/%d", srv.URL, hops), Validators{})
			if err != nil {
				t.Fatal(err)
			}
			if res.URL != srv.URL+"/r/0" {
				t.Errorf("URL = %q, want the final URL %q", res.URL, srv.URL+"/r/0")
			}
		})
	}
	t.Run("past the cap", func(t *testing.T) {
		fe := fetchErr(t, f, fmt.Sprintf("%s/r/%d", srv.URL, MaxRedirects+1))
		if want := "feed " + srv.URL + "/r/6: too many redirects (more than 5)"; fe.Error() != want || !fe.Permanent {
			t.Errorf("Error() = %q (permanent %v), want %q (permanent)", fe.Error(), fe.Permanent, want)
		}
	})
	t.Run("redirect to a 404 names the final URL", func(t *testing.T) {
		fe := fetchErr(t, f, srv.URL+"/moved")
		want := "feed " + srv.URL + "/moved: server answered 404 Not Found (after a redirect to " + srv.URL + "/nowhere)"
		if fe.Error() != want || fe.Status != 404 {
			t.Errorf("Error() = %q (status %d), want %q", fe.Error(), fe.Status, want)
		}
	})
}

func TestFetchBodyCap(t *testing.T) {
	big := strings.Repeat("x", 2048)
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"declared length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			fmt.Fprint(w, big)
		}},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			for range 4 {
				fmt.Fprint(w, big[:512])
				w.(http.Flusher).Flush()
			}
			fmt.Fprint(w, "more")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			fe := fetchErr(t, NewFetcher(FetcherOptions{MaxBytes: 1024}), srv.URL)
			if want := "feed " + srv.URL + ": body larger than 1 KiB"; fe.Error() != want || !fe.Permanent {
				t.Errorf("Error() = %q (permanent %v), want %q (permanent)", fe.Error(), fe.Permanent, want)
			}
		})
	}
	t.Run("exactly at the cap", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, big) }))
		defer srv.Close()
		res, err := NewFetcher(FetcherOptions{MaxBytes: int64(len(big))}).Fetch(context.Background(), srv.URL, Validators{})
		if err != nil || len(res.Body) != len(big) {
			t.Fatalf("Fetch = %v, %v; want the whole body", res, err)
		}
	})
}

func TestFetchTimeout(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
		{"stalls mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			fmt.Fprint(w, "<rss>")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			fe := fetchErr(t, NewFetcher(FetcherOptions{Timeout: 50 * time.Millisecond}), srv.URL)
			if want := "feed " + srv.URL + ": timed out after 50ms"; fe.Error() != want || fe.Permanent {
				t.Errorf("Error() = %q (permanent %v), want %q", fe.Error(), fe.Permanent, want)
			}
		})
	}
}

// TestFetchTruncated has the server close the connection before the body
// it announced is complete.
func TestFetchTruncated(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"content-length mismatch", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss version=\"2.0\"><channel>"},
		{"chunked without end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<rss>\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				buf.WriteString(tt.raw)
				buf.Flush()
				conn.Close()
			}))
			defer srv.Close()
			fe := fetchErr(t, NewFetcher(FetcherOptions{}), srv.URL)
			if want := "feed " + srv.URL + ": the connection closed before the whole feed arrived"; fe.Error() != want {
				t.Errorf("Error() = %q, want %q", fe.Error(), want)
			}
		})
	}
}

func TestFetchCanceled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, err := NewFetcher(FetcherOptions{}).Fetch(ctx, srv.URL, Validators{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want it to wrap context.Canceled", err)
	}
}
