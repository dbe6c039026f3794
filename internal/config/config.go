// Package config loads practicemail's configuration: built-in defaults, then
// one YAML file, then PRACTICEMAIL_* environment variables, checked all at
// once. The result is a value handed to whoever needs it; there is no global.
package config

import (
	"net/netip"
	"time"
)

// Config is the whole configuration of one practicemail process.
type Config struct {
	Practice  Practice
	HTTP      HTTP
	Privacy   Privacy
	Database  Database
	Redis     Redis
	SMTP      SMTP
	Feeds     []Feed
	Sequences Sequences
	Inquiries Inquiries
	Secrets   Secrets
	Worker    Worker
	Log       Log
}

// Practice describes the practice whose email this is.
type Practice struct {
	Name string
	// BaseURL is the public URL every link in an email starts with.
	BaseURL string
	// TimeZone is an IANA zone name, the default for people without their own.
	TimeZone string
	// Location is TimeZone loaded; Default and Load fill it in.
	Location *time.Location
	// PostalAddress is printed in every marketing email (CAN-SPAM).
	PostalAddress string
	// NotifyEmail is where inquiry notifications go.
	NotifyEmail string
	BookingURL  string
	// From is the From of every email, an RFC 5322 address.
	From    string
	ReplyTo string
}

// HTTP configures the HTTP server.
type HTTP struct {
	Addr string
	// AllowedOrigins are the sites whose pages may post the subscribe form
	// (a pasted snippet, JSON with CORS) and be sent back to by return_to.
	// Load normalises each to "scheme://host[:port]": lower case, no
	// default port, no trailing slash, an IDN host in punycode, as a
	// browser writes its Origin header.
	AllowedOrigins []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed; a bare IP in the file becomes a single-address prefix.
	TrustedProxies []netip.Prefix
}

// Privacy configures what is kept about people beyond what the law needs.
type Privacy struct {
	// RecordIP keeps the client address with each signup's consent; off,
	// the address is used for rate limits only and never stored.
	RecordIP bool
}

// Database says which SQL database is the source of truth; see Driver and DSN.
type Database struct {
	URL string
}

// Redis says where asynq's Redis is. An empty URL lets the program decide
// (the CLI probes 127.0.0.1:6379 or starts one); see ConnOpt.
type Redis struct {
	URL string
}

// SMTP configures outgoing mail. An empty URL writes .eml files to OutboxDir
// instead of sending.
type SMTP struct {
	URL string
	// TLS is one of TLSMandatory, TLSOpportunistic or TLSNone.
	TLS       string
	OutboxDir string
	// Connections is how many SMTP connections are kept open and reused.
	Connections int
	// Rate is the global send rate, shared by all workers.
	Rate    Rate
	Timeout time.Duration
	// DKIMDomain, DKIMSelector and DKIMKeyFile are set together or not at
	// all; the key file holds a PEM RSA or Ed25519 private key.
	DKIMDomain   string
	DKIMSelector string
	DKIMKeyFile  string
	// ReturnPath, when set, is the envelope sender (MAIL FROM) of every
	// message, where bounces go; the From stays Practice.From.
	ReturnPath string
}

// The values SMTP.TLS may take.
const (
	TLSMandatory     = "mandatory"
	TLSOpportunistic = "opportunistic"
	TLSNone          = "none"
)

// Feed is one feed whose new posts are emailed to subscribers.
type Feed struct {
	Name  string
	URL   string
	Every time.Duration
	// Mode is ModeEach or ModeDigest.
	Mode string
	// Digest is when a digest goes out, "Mon 09:00"; see ParseDigest.
	Digest string
	// HoldOver is how many new items one poll may find before they are held
	// for approval; a negative value never holds.
	HoldOver int
}

// The values Feed.Mode may take.
const (
	ModeEach   = "each"
	ModeDigest = "digest"
)

// Sequences says where the follow-up sequence files are.
type Sequences struct {
	// Dir is a directory of sequence files; empty (the default) uses the
	// sequences built into the binary (templates.Sequences).
	Dir string
}

// Secrets holds keys and passwords; never log them.
type Secrets struct {
	// LinkKey is the HMAC key for confirm, unsubscribe and preferences links.
	// It may be empty only when BaseURL's host is loopback: Load then leaves
	// it empty and the caller generates and persists a development key.
	LinkKey string
	// DataKey encrypts inquiry messages at rest: 32 bytes, base64 in the file.
	// It is required when the inquiry routes are on (Config.InquiriesOn).
	DataKey []byte
	// DataKeyPrevious are the keys DataKey replaced: they open what they
	// sealed and seal nothing. See DataKeys and package seal on rotation.
	DataKeyPrevious [][]byte
	// WebhookKey is the HMAC key of the webhooks (bounces at
	// POST /webhooks/bounce, bookings); empty, they answer 404.
	WebhookKey string
	// CalendlyKey is the signing key of Calendly's webhook subscription
	// (POST /webhooks/calendly); empty, the route answers 404.
	CalendlyKey string
	// CalcomSecret is the secret of Cal.com's webhook
	// (POST /webhooks/calcom); empty, the route answers 404.
	CalcomSecret string
	// AdminPassword guards the admin routes (GET /admin/, /metrics), given as a
	// bearer token or as the password of HTTP Basic authentication;
	// empty, they answer 404.
	AdminPassword string
}

// Worker configures the asynq worker.
type Worker struct {
	// Concurrency is how many tasks one worker process handles at once.
	Concurrency int
	// BatchSize is how many ledger rows one send task leases and sends:
	// the unit the worker processes share the fan-out in.
	BatchSize int
}

// Log configures log/slog.
type Log struct {
	// Level is debug, info, warn or error.
	Level string
	// Format is text or json.
	Format string
}

// Default returns the built-in configuration, valid on its own: a local
// SQLite database, the dev outbox instead of SMTP, no feeds.
func Default() *Config {
	return &Config{
		Practice: Practice{
			Name:     "My Practice",
			BaseURL:  "http://localhost:8080",
			TimeZone: "UTC",
			Location: time.UTC,
		},
		HTTP:     HTTP{Addr: "127.0.0.1:8080"},
		Database: Database{URL: "sqlite:data/practicemail.db"},
		SMTP: SMTP{
			TLS:         TLSMandatory,
			OutboxDir:   "data/outbox",
			Connections: 4,
			Rate:        Rate{N: 20, Per: time.Second},
			Timeout:     30 * time.Second,
		},
		Sequences: Sequences{}, // built in; see Sequences
		Inquiries: Inquiries{Retention: DefaultInquiryRetention, CrisisResources: DefaultCrisisResources},
		Worker:    Worker{Concurrency: 8, BatchSize: 500},
		Log:       Log{Level: "info", Format: "text"},
	}
}

// DefaultFeed returns a feed with every default filled in; a feed in the
// YAML file or the environment starts from it.
func DefaultFeed() Feed {
	return Feed{Every: 15 * time.Minute, Mode: ModeEach, HoldOver: 3}
}
