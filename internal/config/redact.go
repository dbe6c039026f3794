package config

import (
	"net/url"
	"strings"
)

// RedactURL is a URL as it may be printed or logged: its password, if any,
// replaced by xxxxx (https://user:xxxxx@host/feed). A string that does not
// parse as a URL is shown only up to its scheme when it could hold one.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if scheme, _, ok := strings.Cut(s, "://"); ok && strings.Contains(s, "@") {
			return scheme + "://…"
		}
		return s
	}
	return u.Redacted()
}
