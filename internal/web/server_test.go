package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type checkFunc func(context.Context) error

func (f checkFunc) Ping(ctx context.Context) error { return f(ctx) }

func TestHealth(t *testing.T) {
	down := errors.New("down")
	for _, tc := range []struct {
		name   string
		path   string
		redis  error
		code   int
		substr string
	}{
		{"live", "/healthz", down, 200, `"ok"`},
		{"ready", "/readyz", nil, 200, `"redis":"ok"`},
		{"not ready", "/readyz", down, 503, `"redis":"unavailable"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{Log: slog.New(slog.DiscardHandler), Checks: map[string]Checker{
				"database": checkFunc(func(context.Context) error { return nil }),
				"redis":    checkFunc(func(context.Context) error { return tc.redis }),
			}}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.code || !strings.Contains(string(body), tc.substr) {
				t.Fatalf("%s = %d %s; want %d containing %s", tc.path, rec.Code, body, tc.code, tc.substr)
			}
		})
	}
}
