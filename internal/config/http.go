package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// check validates the HTTP section. Each bad item of a list is its own
// problem, keyed by its index so that Load names its line.
func (h HTTP) check(p *Problems) {
	checkListenAddr(p, "http.addr", h.Addr)
	for i, o := range h.AllowedOrigins {
		if _, err := NormalizeOrigin(o); err != nil {
			p.add(fmt.Sprintf("http.allowed_origins[%d]", i), "%v", err)
		}
	}
	for i, pr := range h.TrustedProxies {
		key := fmt.Sprintf("http.trusted_proxies[%d]", i)
		switch {
		case !pr.IsValid():
			p.add(key, "not a valid IP prefix")
		case pr.Bits() == 0:
			// Trusting everyone lets any client name its own address,
			// and with it walk past the rate limits.
			p.add(key, "%s trusts every address, so any client could forge X-Forwarded-For; list the proxies' own addresses", pr)
		}
	}
}

// normalize rewrites what Validate accepted into the one form the server
// compares against: origins as a browser writes them, without repeats.
func (h *HTTP) normalize() {
	var origins []string
	for _, o := range h.AllowedOrigins {
		if n, err := NormalizeOrigin(o); err == nil && !slices.Contains(origins, n) {
			origins = append(origins, n)
		}
	}
	h.AllowedOrigins = origins
}

// NormalizeOrigin returns raw as a web origin in the form of a browser's
// Origin header, "https://host[:port]": scheme and host in lower case, an
// IDN host in punycode, a default port (80, 443) dropped, a trailing slash
// dropped. Anything more than an origin (a path, a query, a user) or less
// (no host), a wildcard or another scheme is an error.
func NormalizeOrigin(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if strings.Contains(s, "*") {
		return "", fmt.Errorf("must be one origin such as https://blog.example.org; wildcards are not allowed (got %q)", raw)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("not a URL: %v", urlErr(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("must be an origin such as https://blog.example.org, with http:// or https:// (got %q)", raw)
	case u.User != nil:
		return "", fmt.Errorf("must not hold a user or password (got %q)", u.Redacted())
	case u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("must name a host (got %q)", raw)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.ForceQuery, u.Fragment != "":
		return "", fmt.Errorf("must be scheme://host[:port] only, without a path, query or fragment (got %q)", raw)
	}
	host, err := originHost(u.Hostname())
	if err != nil {
		return "", err
	}
	port := u.Port()
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q is not a port number", port)
		}
	}
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		return u.Scheme + "://" + net.JoinHostPort(host, port), nil
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host, nil
}

// originHost is an address as it is, or a domain in lower-case punycode.
func originHost(h string) (string, error) {
	if ip := net.ParseIP(h); ip != nil {
		return ip.String(), nil
	}
	host, err := idna.Lookup.ToASCII(strings.ToLower(h))
	if err != nil || host == "" {
		return "", fmt.Errorf("host %q is not a valid domain or address", h)
	}
	return host, nil
}
