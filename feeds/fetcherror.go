package feeds

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errBodyTooLarge marks a body over the Fetcher's cap.
var errBodyTooLarge = errors.New("body too large")

// maxRetryAfter bounds a server's Retry-After so a silly value cannot park
// a feed for years.
const maxRetryAfter = 7 * 24 * time.Hour

// FetchError is a failed fetch, worded for the person who configured the
// feed: Error() is one line such as
// "feed https://blog.example/feed: server answered 404 Not Found".
type FetchError struct {
	URL        string        // the feed URL asked for, password removed
	Status     int           // HTTP status, 0 when no response arrived
	Msg        string        // what went wrong, in plain words
	RetryAfter time.Duration // from Retry-After on 429/503, else 0
	Permanent  bool          // retrying soon will not help (404, bad URL, too large…)
	Err        error         // the underlying error, if any
}

// Error returns one human-readable line.
func (e *FetchError) Error() string {
	return "feed " + e.URL + ": " + e.Msg
}

// Unwrap returns the underlying error, so errors.Is(err, context.Canceled)
// works.
func (e *FetchError) Unwrap() error { return e.Err }

// statusError describes a non-2xx, non-304 answer; head is the start of
// its body.
func statusError(feedURL, finalURL string, resp *http.Response, head []byte, now time.Time) *FetchError {
	code := resp.StatusCode
	e := &FetchError{URL: redact(feedURL), Status: code}
	status, redirected := statusText(code), ""
	if finalURL != feedURL {
		redirected = "after a redirect to " + redact(finalURL)
	}
	switch wall := botWall(resp.Header, head); {
	case wall != "":
		e.Msg = fmt.Sprintf("the site refused the request (%s): its %s bot protection blocks feed readers; %s",
			joinNonEmpty(status, redirected), wall, allowFeedReaders)
	case code == http.StatusForbidden:
		e.Msg = fmt.Sprintf("the site refused the request (%s): it may block feed readers, or the feed may be private; %s",
			joinNonEmpty(status, redirected), allowFeedReaders)
	case redirected != "":
		e.Msg = "server answered " + status + " (" + redirected + ")"
	default:
		e.Msg = "server answered " + status
	}
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		if e.RetryAfter > 0 {
			e.Msg += fmt.Sprintf(", asking to retry after %s", e.RetryAfter)
		}
	}
	e.Permanent = code >= 300 && code < 500 &&
		code != http.StatusRequestTimeout && code != http.StatusTooEarly && code != http.StatusTooManyRequests
	return e
}

func joinNonEmpty(a, b string) string {
	if b == "" {
		return a
	}
	return a + ", " + b
}

func statusText(code int) string {
	if text := http.StatusText(code); text != "" {
		return strconv.Itoa(code) + " " + text
	}
	return strconv.Itoa(code)
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return max(0, min(d, maxRetryAfter))
}

// transportError describes a request that got no usable response.
func (f *Fetcher) transportError(ctx context.Context, feedURL string, err error) *FetchError {
	e := &FetchError{URL: redact(feedURL), Err: err}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var addrErr *AddressError
	switch {
	case ctx.Err() != nil:
		e.Msg, e.Err = canceledMsg(ctx), ctx.Err()
	case errors.As(err, &addrErr):
		e.Msg, e.Permanent = addrErr.Error()+viaRedirect(feedURL, err), true
	case errors.Is(err, errTooManyRedirects):
		e.Msg, e.Permanent = fmt.Sprintf("too many redirects (more than %d)", MaxRedirects), true
	case isTimeout(err):
		e.Msg = "timed out after " + f.timeout.String()
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Msg = "could not connect: connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.Msg = "the server closed the connection without answering"
	case errors.As(err, &dnsErr):
		e.Msg = "could not find the server " + dnsErr.Name
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		e.Msg = "the server's security certificate is not valid: " + oneLine(innermost(err).Error())
	default:
		e.Msg = "could not fetch: " + oneLine(innermost(err).Error())
	}
	return e
}

// viaRedirect names the redirect a request error happened on, if any.
func viaRedirect(feedURL string, err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) && urlErr.URL != feedURL {
		return " (after a redirect to " + redact(urlErr.URL) + ")"
	}
	return ""
}

// bodyError describes a failure while reading the body.
func (f *Fetcher) bodyError(ctx context.Context, feedURL string, err error) *FetchError {
	e := &FetchError{URL: redact(feedURL), Status: http.StatusOK, Err: err}
	switch {
	case ctx.Err() != nil:
		e.Msg, e.Err = canceledMsg(ctx), ctx.Err()
	case errors.Is(err, errBodyTooLarge):
		e.Msg, e.Permanent = "body larger than "+formatBytes(f.maxBytes), true
	case isTimeout(err):
		e.Msg = "timed out after " + f.timeout.String()
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		e.Msg = "the connection closed before the whole feed arrived"
	default:
		e.Msg = "could not read the feed: " + oneLine(innermost(err).Error())
	}
	return e
}

// canceledMsg describes a fetch stopped by the caller's context rather than
// by the Fetcher's own timeout.
func canceledMsg(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "fetch stopped: the caller's deadline passed"
	}
	return "fetch canceled"
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

// innermost strips url.Error's `Get "https://…":` prefix, which repeats the
// URL the message already names.
func innermost(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// oneLine keeps an error message to a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// redact removes a password from a URL before it is shown or logged.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return oneLine(raw)
	}
	return u.Redacted()
}

// formatBytes writes a size the way people read it: "10 MiB", "1 KiB", "900 bytes".
func formatBytes(n int64) string {
	const kib, mib = 1 << 10, 1 << 20
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	case n >= kib:
		return fmt.Sprintf("%.1f KiB", float64(n)/kib)
	}
	return fmt.Sprintf("%d bytes", n)
}
