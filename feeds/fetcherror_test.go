package feeds

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFetchStatusErrors(t *testing.T) {
	retryDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name          string
		status        int
		retryAfter    string
		wantMsg       string
		wantPermanent bool
		wantRetry     func(time.Duration) bool
	}{
		{"404", 404, "", "server answered 404 Not Found", true, nil},
		{"410", 410, "", "server answered 410 Gone", true, nil},
		{"500", 500, "", "server answered 500 Internal Server Error", false, nil},
		{"503 with seconds", 503, "120", "server answered 503 Service Unavailable, asking to retry after 2m0s", false,
			func(d time.Duration) bool { return d == 2*time.Minute }},
		{"429 with date", 429, retryDate, "server answered 429 Too Many Requests, asking to retry after", false,
			func(d time.Duration) bool { return d > 0 && d <= 90*time.Second }},
		{"503 without header", 503, "", "server answered 503 Service Unavailable", false,
			func(d time.Duration) bool { return d == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, "<html>error page</html>")
			}))
			defer srv.Close()
			fe := fetchErr(t, NewFetcher(FetcherOptions{}), srv.URL+"/feed")
			wantPrefix := "feed " + srv.URL + "/feed: " + tt.wantMsg
			if !strings.HasPrefix(fe.Error(), wantPrefix) {
				t.Errorf("Error() = %q, want prefix %q", fe.Error(), wantPrefix)
			}
			if fe.Status != tt.status || fe.Permanent != tt.wantPermanent {
				t.Errorf("Status, Permanent = %d, %v; want %d, %v", fe.Status, fe.Permanent, tt.status, tt.wantPermanent)
			}
			if tt.wantRetry != nil && !tt.wantRetry(fe.RetryAfter) {
				t.Errorf("RetryAfter = %v", fe.RetryAfter)
			}
		})
	}
}

func TestFetchConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String() + "/feed"
	ln.Close()

	tests := []struct {
		name, url, wantMsg string
		wantPermanent      bool
	}{
		{"connection refused", closedURL, "could not connect: connection refused", false},
		{"not http", "ftp://blog.example/feed", "not a web address (it must start with http:// or https://)", true},
		{"no scheme", "blog.example/feed", "not a web address (it must start with http:// or https://)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := fetchErr(t, NewFetcher(FetcherOptions{}), tt.url)
			if want := "feed " + tt.url + ": " + tt.wantMsg; fe.Error() != want || fe.Permanent != tt.wantPermanent {
				t.Errorf("Error() = %q (permanent %v), want %q (permanent %v)", fe.Error(), fe.Permanent, want, tt.wantPermanent)
			}
		})
	}
}

func TestFetchErrorRedactsPassword(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://reader:s3cret@", 1) + "/feed"
	fe := fetchErr(t, NewFetcher(FetcherOptions{}), u)
	if strings.Contains(fe.Error(), "s3cret") {
		t.Errorf("Error() = %q leaks the password", fe.Error())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 7, 16, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"30", 30 * time.Second},
		{" 3600 ", time.Hour},
		{"-5", 0},
		{"99999999999", maxRetryAfter},
		{"Tue, 07 Jan 2025 16:05:00 GMT", 5 * time.Minute},
		{"Tue, 07 Jan 2025 15:00:00 GMT", 0},
		{"Tuesday, 07-Jan-25 16:00:30 GMT", 30 * time.Second},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{DefaultMaxBytes, "10 MiB"}, {1 << 10, "1 KiB"}, {1536, "1.5 KiB"}, {900, "900 bytes"}, {3 << 19, "1.5 MiB"},
	}
	for _, tt := range tests {
		if got := formatBytes(tt.in); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
