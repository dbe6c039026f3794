package web

import (
	"net/http"
	"strings"
)

// maxBody caps every request body: a sign-up or a preferences form is a few
// hundred bytes, so 16 KiB leaves room and refuses a flood early.
const maxBody = 16 << 10

// csp is the Content-Security-Policy of every response: no script at all,
// one stylesheet of our own, forms posting only here (the sign-up page also
// to the allowed origins, for its return_to redirect), never framed.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// secure sets the security headers on every response and caps the body.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		// Pages carry tokens in their URLs and answers about a person:
		// nothing is kept by a shared cache or the browser's.
		h.Set("Cache-Control", "no-store")
		limit := int64(maxBody)
		if r.URL.Path == "/inquiries" {
			limit = maxInquiryBody // a message of maxMessage characters, encoded
		}
		if r.ContentLength > limit {
			s.page(w, r, http.StatusRequestEntityTooLarge, msgTooLarge)
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// signupCSP is csp with the allowed origins added to form-action: a browser
// checks form-action on the redirect to return_to too.
func (s *Server) signupCSP() string {
	if len(s.AllowedOrigins) == 0 {
		return csp
	}
	return strings.Replace(csp, "form-action 'self'", "form-action 'self' "+strings.Join(s.AllowedOrigins, " "), 1)
}

// originCheck refuses state-changing browser requests from other sites
// (CSRF). Requests without Origin or Sec-Fetch-Site, such as a mail
// provider's one-click unsubscribe, pass: they are no browser's. With
// signup, the allowed origins pass too, for forms pasted on the practice's
// own site.
func (s *Server) originCheck(signup bool) func(http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	if signup {
		for _, o := range s.AllowedOrigins {
			if err := cop.AddTrustedOrigin(o); err != nil {
				s.logger().Warn("allowed_origin_ignored", "origin", o, "error", err)
			}
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wantsJSON(r) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-origin request refused"})
			return
		}
		s.page(w, r, http.StatusForbidden, msgForbidden)
	}))
	return cop.Handler
}

// allowedOrigin reports whether origin (scheme://host[:port]) is one of the
// allowed origins.
func (s *Server) allowedOrigin(origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range s.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight for POST /subscribe: allowed origins
// may send JSON; any other origin gets no CORS headers, so its browser
// never sends the request.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if !s.allowedOrigin(origin) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// cors adds the CORS answer headers for an allowed origin.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if o := r.Header.Get("Origin"); s.allowedOrigin(o) {
		w.Header().Set("Access-Control-Allow-Origin", o)
	}
}

func wantsJSON(r *http.Request) bool {
	return mediaType(r) == "application/json"
}
