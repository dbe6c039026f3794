package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// admin guards an admin route (GET /admin/, /metrics). Without an admin password,
// or without h, the route does not exist: 404, as for any unknown path.
// Otherwise the request must carry the password as a bearer token
// ("Authorization: Bearer …", what Prometheus's authorization setting
// sends) or as the password of HTTP Basic authentication, with any user
// name (a browser's prompt, Prometheus's basic_auth). Every request is
// counted per client address before the password is looked at, so a
// client over its limit learns nothing from a guess.
func (s *Server) admin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.AdminPassword == "" || h == nil {
			s.notFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if !s.allow(w, r, s.rules().AdminIP, s.clientAddr(r).String()) {
			return
		}
		if !s.adminPasswordGiven(r) {
			s.logger().Warn("admin_auth_failed", "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Basic realm="practicemail admin", charset="UTF-8"`)
			http.Error(w, "401 the admin password is needed (secrets.admin_password), as a bearer token or by HTTP Basic authentication", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// adminPasswordGiven compares in constant time, whatever the lengths.
func (s *Server) adminPasswordGiven(r *http.Request) bool {
	given, ok := adminCredential(r)
	if !ok {
		return false
	}
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(s.AdminPassword))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// adminCredential is the bearer token or the Basic password of r. The
// scheme's name is case-insensitive (RFC 9110, 11.1).
func adminCredential(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const bearer = "bearer "
	if len(h) > len(bearer) && strings.EqualFold(h[:len(bearer)], bearer) {
		return strings.TrimSpace(h[len(bearer):]), true
	}
	if _, password, ok := r.BasicAuth(); ok {
		return password, true
	}
	return "", false
}
