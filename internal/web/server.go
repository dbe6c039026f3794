// Package web is practicemail's HTTP surface: the health endpoints and the
// public pages a reader uses to join, confirm, leave and manage themselves
// (subscribe, confirm, unsubscribe, preferences), and the webhooks. Every
// response passes through one middleware that sets the security headers and
// caps the request body; every state-changing browser request is checked to
// come from the practice's own pages or, for sign-ups, from an allowed origin.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/practicemail/practicemail/internal/links"
	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/status"
	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/templates"
)

// Checker is something /readyz asks: the database, Redis.
type Checker interface {
	Ping(ctx context.Context) error
}

// Enqueuer puts a ledger batch on the queue (the worker's EnqueueDelivery).
type Enqueuer interface {
	EnqueueDelivery(ctx context.Context, b store.BatchRef) error
}

// Practice is what the pages say about the practice.
type Practice struct {
	Name, BaseURL, PostalAddress string
	BookingURL                   string // where a person books a consult; on the inquiry pages
	TimeZone                     string // IANA: the inquiry form's default zone
}

// Server is the HTTP server.
type Server struct {
	Addr   string
	Checks map[string]Checker // by name, e.g. "database", "redis"
	Log    *slog.Logger

	DB       *store.DB
	Links    *links.Signer
	Pages    *templates.Pages
	Queue    Enqueuer
	Limiter  *ratelimit.Limiter // nil: no limits
	Rules    Rules              // zero: DefaultRules
	Practice Practice

	AllowedOrigins []string       // normalised "scheme://host[:port]": sites whose pasted forms may post here
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed
	RecordIP       bool           // store the client's address with consent records
	FormKey        []byte         // signs the hosted form's timestamp
	WebhookKey     []byte         // secrets.webhook_key
	EraseKey       []byte         // the link key, for EraseSubscriberID

	// Inquiries. The routes exist only with a Sealer (cmd sets one when
	// practice.notify_email is set): a message is never stored in the clear.
	Sealer          store.Sealer    // secrets.data_key; nil: /inquiries answers 404
	Classifier      Classifier      // crisis language; nil: the default phrases
	InquiryQueue    InquiryEnqueuer // nil: the reconciler finds the inquiries
	CrisisResources string          // inquiries.crisis_resources; "": config.DefaultCrisisResources
	CalendlyKey     []byte          // secrets.calendly_key: POST /webhooks/calendly
	CalcomSecret    []byte          // secrets.calcom_secret: POST /webhooks/calcom

	// Admin routes, behind AdminPassword (admin.go); "" or nil: 404.
	AdminPassword string                                       // secrets.admin_password
	Metrics       http.Handler                                 // GET /metrics (package metrics)
	Status        func(context.Context) (status.Report, error) // GET /admin/ (package status)
	Fanout        FanoutEnqueuer                               // POST /admin/held queues approved posts; nil: the reconciler does

	Now func() time.Time

	srv *http.Server
	ln  net.Listener
}

// Server timeouts and limits: a slow client cannot hold a connection, a
// huge header cannot fill memory.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 32 << 10
)

// Handler returns the routes behind the security middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /static/site.css", s.stylesheet)
	signup := s.originCheck(true)
	strict := s.originCheck(false)
	mux.HandleFunc("GET /subscribe", s.subscribeForm)
	mux.Handle("POST /subscribe", signup(http.HandlerFunc(s.subscribe)))
	mux.HandleFunc("OPTIONS /subscribe", s.preflight)
	mux.HandleFunc("GET /confirm/{token}", s.confirm)
	mux.HandleFunc("GET /unsubscribe/{token}", s.unsubscribePage)
	mux.Handle("POST /unsubscribe/{token}", strict(http.HandlerFunc(s.unsubscribe)))
	mux.HandleFunc("GET /preferences/{token}", s.preferencesPage)
	mux.Handle("POST /preferences/{token}", strict(http.HandlerFunc(s.preferences)))
	mux.HandleFunc("GET /inquiries", s.inquiryPage)
	mux.Handle("POST /inquiries", signup(http.HandlerFunc(s.inquire)))
	mux.HandleFunc("OPTIONS /inquiries", s.preflight)
	mux.HandleFunc("POST /webhooks/bounce", s.bounceWebhook)
	mux.HandleFunc("POST /webhooks/booking", s.bookingWebhook)
	mux.HandleFunc("POST /webhooks/calendly", s.calendlyWebhook)
	mux.HandleFunc("POST /webhooks/calcom", s.calcomWebhook)
	mux.Handle("GET /metrics", s.admin(s.Metrics))
	var adminPage http.Handler
	if s.Status != nil {
		adminPage = http.HandlerFunc(s.adminPage)
	}
	mux.Handle("GET /admin/", s.admin(adminPage))
	var subscriberList http.Handler
	if s.Status != nil {
		subscriberList = http.HandlerFunc(s.subscriberList)
	}
	mux.Handle("GET /admin/subscribers", s.admin(subscriberList))
	// The admin page's forms: nil, with no admin page, is 404.
	adminForm := func(h http.HandlerFunc) http.Handler {
		if s.Status == nil {
			return s.admin(nil)
		}
		return s.admin(strict(h))
	}
	mux.Handle("POST /admin/held", adminForm(s.decideHeld))
	mux.Handle("POST /admin/person", adminForm(s.findPerson))
	mux.Handle("POST /admin/person/unsubscribe", adminForm(s.unsubscribePerson))
	mux.Handle("POST /admin/person/erase", adminForm(s.erasePerson))
	mux.Handle("POST /admin/campaign/cancel", adminForm(s.cancelCampaign))
	mux.HandleFunc("/", s.notFound)
	return s.secure(mux)
}

// Start listens on Addr (port 0 picks one; see URL) and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelWarn),
	}
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

func (s *Server) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
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
