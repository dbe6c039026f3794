// Package web is practicemail's HTTP surface. For now it serves the health
// endpoints; the public pages (subscribe, confirm, unsubscribe, preferences,
// inquiries, the booking webhook) and the admin pages hang off the same mux.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Checker is something /readyz asks: the database, Redis.
type Checker interface {
	Ping(ctx context.Context) error
}

// Server is the HTTP server.
type Server struct {
	Addr   string
	Checks map[string]Checker // by name, e.g. "database", "redis"
	Log    *slog.Logger

	srv *http.Server
	ln  net.Listener
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	return mux
}

// Start listens on Addr (port 0 picks one; see URL) and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Log.Error("http_serve_failed", "error", err)
		}
	}()
	return nil
}

// URL is where the server listens, once started.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Shutdown stops accepting requests and waits for those in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when every check passes, else 503 naming what failed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	out := map[string]string{}
	code := http.StatusOK
	for name, c := range s.Checks {
		if err := c.Ping(ctx); err != nil {
			out[name] = "unavailable"
			code = http.StatusServiceUnavailable
			s.Log.Warn("readiness_check_failed", "check", name, "error", err)
			continue
		}
		out[name] = "ok"
	}
	writeJSON(w, code, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
