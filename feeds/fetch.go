// Package feeds turns a blog's feed URL into normalised items and decides
// which of them are new.
//
// The pipeline is fetch (conditional GET, [Fetcher]) → parse and normalise
// ([Parse], which wraps gofeed and sanitises every item's HTML) → decide
// ([Decide], a pure function). The package imports nothing else of
// practicemail's, so it can be tested and reused on its own.
package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

const (
	// DefaultTimeout bounds a whole fetch, body included.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBytes caps the (decompressed) size of a feed body.
	DefaultMaxBytes int64 = 10 << 20
	// MaxRedirects is how many redirects a fetch follows before giving up.
	MaxRedirects = 5

	// errorBodyPeek is how much of an error page is read to tell a bot
	// wall from an ordinary refusal.
	errorBodyPeek = 32 << 10

	acceptHeader = "application/rss+xml, application/atom+xml, application/feed+json, " +
		"application/json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)

// errTooManyRedirects is returned by the client's CheckRedirect; Fetch turns
// it into a FetchError.
var errTooManyRedirects = errors.New("too many redirects")

// UserAgent returns the User-Agent header practicemail sends for the given
// release version, e.g. "practicemail/1.2.0 (+https://github.com/practicemail/practicemail)".
func UserAgent(version string) string {
	return "practicemail/" + version + " (+https://github.com/practicemail/practicemail)"
}

// FetcherOptions configures a Fetcher. Zero values take the defaults.
type FetcherOptions struct {
	UserAgent string        // default UserAgent("dev")
	Timeout   time.Duration // default DefaultTimeout
	MaxBytes  int64         // default DefaultMaxBytes
	// Resolver looks up host names; nil means the system's. Tests point it
	// at a DNS server of their own.
	Resolver *net.Resolver

	// dialCheck, in tests, runs after the address checks on every address
	// about to be dialled: a tripwire for any address the checks let by.
	dialCheck func(network, address string, c syscall.RawConn) error
}

// Validators are the HTTP cache validators of a feed, sent back on the next
// fetch so an unchanged feed costs a 304.
type Validators struct {
	ETag         string
	LastModified string
}

// FetchResult is what a successful fetch returns.
type FetchResult struct {
	NotModified bool       // the server answered 304; Body is nil
	Body        []byte     // the feed document, decompressed, in UTF-8 when the HTTP charset says what it was, any text over 1 MiB cut (see Parse)
	Validators  Validators // to store and send next time
	URL         string     // final URL after redirects: the base for relative links
}

// Fetcher fetches feeds with conditional GET. It is safe for concurrent use.
//
// It never connects to a link-local or cloud metadata address, and connects
// to loopback and private addresses only for a feed whose own URL is on one
// (see guard.go). It keeps one HTTP client for each case, so a connection
// opened for a private feed is never reused by a public one.
type Fetcher struct {
	public    *http.Client // for feeds on the internet
	private   *http.Client // for feeds configured on a loopback or private address
	resolver  *net.Resolver
	dialCheck func(network, address string, c syscall.RawConn) error
	userAgent string
	timeout   time.Duration
	maxBytes  int64
}

// NewFetcher returns a Fetcher with its own HTTP clients. They ignore
// HTTP_PROXY and HTTPS_PROXY: through a proxy, the addresses a feed leads
// to could not be checked.
func NewFetcher(opts FetcherOptions) *Fetcher {
	f := &Fetcher{userAgent: opts.UserAgent, timeout: opts.Timeout, maxBytes: opts.MaxBytes,
		resolver: opts.Resolver, dialCheck: opts.dialCheck}
	if f.userAgent == "" {
		f.userAgent = UserAgent("dev")
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBytes
	}
	if f.resolver == nil {
		f.resolver = net.DefaultResolver
	}
	f.public = f.newClient(false)
	f.private = f.newClient(true)
	return f
}

// newClient returns a client whose every redirect and every dialled
// address is checked against what the fetch may reach.
func (f *Fetcher) newClient(allowPrivate bool) *http.Client {
	check := checkDial(allowPrivate)
	if f.dialCheck != nil {
		check = func(network, address string, c syscall.RawConn) error {
			if err := checkDial(allowPrivate)(network, address, c); err != nil {
				return err
			}
			return f.dialCheck(network, address, c)
		}
	}
	dialer := &net.Dialer{Timeout: f.timeout, KeepAlive: 30 * time.Second, Resolver: f.resolver, Control: check}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = dialer.DialContext
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect(allowPrivate)}
}

// checkRedirect allows at most MaxRedirects redirects, none of them to an
// address the fetch may not reach.
func checkRedirect(allowPrivate bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if err := limitRedirects(req, via); err != nil {
			return err
		}
		return checkHost(req.URL.Hostname(), allowPrivate)
	}
}

// limitRedirects allows at most MaxRedirects redirects; via holds the
// requests already made, so the sixth redirect sees six of them.
func limitRedirects(_ *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return errTooManyRedirects
	}
	return nil
}

// Fetch GETs feedURL, sending v as If-None-Match / If-Modified-Since when
// present. Every failure is a *FetchError.
func (f *Fetcher) Fetch(ctx context.Context, feedURL string, v Validators) (*FetchResult, error) {
	reqCtx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := f.newRequest(reqCtx, feedURL, v)
	if err != nil {
		return nil, err
	}
	resp, err := f.do(req)
	if err != nil {
		return nil, f.transportError(ctx, feedURL, err)
	}
	defer closeBody(resp.Body)

	final := resp.Request.URL.String()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return &FetchResult{NotModified: true, Validators: mergeValidators(v, resp.Header), URL: final}, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		head, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyPeek))
		return nil, statusError(feedURL, final, resp, head, time.Now())
	}
	body, err := f.readBody(resp)
	if err != nil {
		return nil, f.bodyError(ctx, feedURL, err)
	}
	// Servers often name the charset only in Content-Type, which Parse
	// never sees; the type itself (text/html, application/octet-stream…)
	// is ignored, since Parse recognises a feed by its content.
	body = toUTF8(body, headerCharset(resp.Header.Get("Content-Type")))
	// Cut here rather than in Parse alone, so that a huge body is garbage
	// before Parse starts.
	body = shortenDocument(body, maxTextBytes)
	return &FetchResult{Body: body, Validators: validatorsFrom(resp.Header), URL: final}, nil
}

// do sends req with the client its URL calls for, refusing a URL that
// names a metadata service or an address no feed may be on.
func (f *Fetcher) do(req *http.Request) (*http.Response, error) {
	host := req.URL.Hostname()
	allowPrivate := isPrivateFeed(req.Context(), f.resolver, host)
	if err := checkHost(host, allowPrivate); err != nil {
		return nil, err
	}
	if allowPrivate {
		return f.private.Do(req)
	}
	return f.public.Do(req)
}

func (f *Fetcher) newRequest(ctx context.Context, feedURL string, v Validators) (*http.Request, error) {
	u, err := url.Parse(feedURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &FetchError{URL: redact(feedURL), Permanent: true, Err: err,
			Msg: "not a web address (it must start with http:// or https://)"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &FetchError{URL: redact(feedURL), Permanent: true, Err: err, Msg: "invalid address: " + oneLine(err.Error())}
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept", acceptHeader)
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	return req, nil
}

// readBody reads the whole body or fails: a body over the cap, or one cut
// short, is an error rather than a partial document.
func (f *Fetcher) readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > f.maxBytes {
		return nil, errBodyTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > f.maxBytes {
		return nil, errBodyTooLarge
	}
	return body, nil
}

// closeBody drains a little of what is left so the connection can be reused.
func closeBody(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

func validatorsFrom(h http.Header) Validators {
	return Validators{ETag: h.Get("ETag"), LastModified: h.Get("Last-Modified")}
}

// mergeValidators keeps the old validators on a 304, taking any the server
// chose to refresh.
func mergeValidators(old Validators, h http.Header) Validators {
	v := validatorsFrom(h)
	if v.ETag == "" {
		v.ETag = old.ETag
	}
	if v.LastModified == "" {
		v.LastModified = old.LastModified
	}
	return v
}
