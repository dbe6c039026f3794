package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
)

func TestSMTPTLSNone(t *testing.T) {
	tests := []struct {
		url  string
		want []string // problem keys
	}{
		{"smtp://127.0.0.1:2525", nil},
		{"smtp://127.8.9.10:25", nil},
		{"smtp://localhost:25", nil},
		{"smtp://[::1]:25", nil},
		{"", nil}, // the dev outbox sends nothing
		{"smtp://smtp.example.org:587", []string{"smtp.tls"}},
		{"smtp://10.0.0.5:25", []string{"smtp.tls"}},
		{"smtps://127.0.0.1:465", []string{"smtp.tls"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c := Default()
			c.Practice.From = "a@example.org"
			c.SMTP.URL, c.SMTP.TLS = tt.url, TLSNone
			var got []string
			if err := c.Validate(); err != nil {
				got = keysOf(problemsOf(t, err))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, c.Validate())
			}
		})
	}
}

func TestSMTPURL(t *testing.T) {
	tests := []struct {
		url      string
		host     string
		port     int
		implicit bool
		problem  string
	}{
		{url: "smtp://smtp.example.org", host: "smtp.example.org", port: 587},
		{url: "smtps://smtp.example.org", host: "smtp.example.org", port: 465, implicit: true},
		{url: "smtp://smtp.example.org:2525", host: "smtp.example.org", port: 2525},
		{url: "http://smtp.example.org", host: "smtp.example.org", port: 587, problem: "must start with smtp:// or smtps://"},
		{url: "smtp://user:pw@:25", port: 25, problem: "must name a host"},
		{url: "smtp://h:70000", host: "h", port: 70000, problem: "port must be between 1 and 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s := SMTP{URL: tt.url}
			if s.Host() != tt.host || s.Port() != tt.port || s.ImplicitTLS() != tt.implicit {
				t.Errorf("Host, Port, ImplicitTLS = %q, %d, %v; want %q, %d, %v",
					s.Host(), s.Port(), s.ImplicitTLS(), tt.host, tt.port, tt.implicit)
			}
			c := Default()
			c.Practice.From = "a@example.org"
			c.SMTP.URL = tt.url
			err := c.Validate()
			if tt.problem == "" {
				if err != nil {
					t.Errorf("Validate = %v", err)
				}
				return
			}
			wantProblem(t, err, "smtp.url", tt.problem)
		})
	}
}

// TestURLPasswordsAreNotQuoted: problems end up in logs and terminals.
func TestURLPasswordsAreNotQuoted(t *testing.T) {
	c := Default()
	c.Practice.From, c.Practice.PostalAddress = "a@example.org", "1 Main St"
	c.SMTP.URL = "smtp://user:hunter2@smtp.example.org:submission"
	c.Database.URL = "postgres://user:hunter2@db:port/pm"
	c.Redis.URL = "rediss://:hunter2@redis.example.org:6379/x"
	c.Feeds = []Feed{{Name: "a", URL: "ftp://user:hunter2@example.org/", Every: 1e9, Mode: ModeEach}}
	err := c.Validate()
	want := []string{"database.url", "redis.url", "smtp.url", "feeds[0].url"}
	if diff := cmp.Diff(want, keysOf(problemsOf(t, err))); diff != "" {
		t.Errorf("problem keys (-want +got):\n%s\n%v", diff, err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a password is quoted in:\n%v", err)
	}
}

func TestDatabaseURL(t *testing.T) {
	tests := []struct {
		url, driver, path, dsn string
		problem                bool
	}{
		{url: "sqlite:data/practicemail.db", driver: "sqlite", path: "data/practicemail.db", dsn: "data/practicemail.db"},
		{url: "sqlite:///var/lib/pm.db", driver: "sqlite", path: "/var/lib/pm.db", dsn: "/var/lib/pm.db"},
		{url: "file:pm.sqlite", driver: "sqlite", path: "pm.sqlite", dsn: "pm.sqlite"},
		{url: "data/pm.db", driver: "sqlite", path: "data/pm.db", dsn: "data/pm.db"},
		{url: "postgres://pm@db.example.org/pm", driver: "postgres", dsn: "postgres://pm@db.example.org/pm"},
		{url: "postgresql://pm@/pm?host=/run/postgresql", driver: "postgres", dsn: "postgresql://pm@/pm?host=/run/postgresql"},
		{url: "sqlite:", driver: "sqlite", problem: true},
		{url: "sqlite:pm.db?_pragma=foreign_keys(1)", driver: "sqlite", path: "pm.db", dsn: "pm.db?_pragma=foreign_keys(1)", problem: true},
		{url: "sqlite:pm.db?synchronous=normal", driver: "sqlite", path: "pm.db", dsn: "pm.db?synchronous=normal"},
		{url: "sqlite:pm.db?synchronous=off", driver: "sqlite", path: "pm.db", dsn: "pm.db?synchronous=off", problem: true},
		{url: "mysql://db/pm", problem: true},
		{url: "data/pm.sqlite", problem: true},
		{url: "", problem: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			d := Database{URL: tt.url}
			if d.Driver() != tt.driver || d.Path() != tt.path || d.DSN() != tt.dsn {
				t.Errorf("Driver, Path, DSN = %q, %q, %q; want %q, %q, %q",
					d.Driver(), d.Path(), d.DSN(), tt.driver, tt.path, tt.dsn)
			}
			var p Problems
			d.check(&p)
			if (len(p) > 0) != tt.problem {
				t.Errorf("problems = %v, want some: %v", p, tt.problem)
			}
		})
	}
}

func TestRedisURL(t *testing.T) {
	tests := []struct {
		url     string
		want    asynq.RedisConnOpt
		problem string
	}{
		{url: "redis://127.0.0.1:6379/2", want: asynq.RedisClientOpt{Addr: "127.0.0.1:6379", DB: 2}},
		{url: "redis-sentinel://10.0.0.1:26379,10.0.0.2:26379?master=main",
			want: asynq.RedisFailoverClientOpt{MasterName: "main", SentinelAddrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}}},
		{url: "redis-cluster://:pw@10.0.0.1:7000,10.0.0.2:7000",
			want: asynq.RedisClusterClientOpt{Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000"}, Password: "pw"}},
		{url: "redis-sentinel://10.0.0.1:26379", problem: "must name the sentinels and the master"},
		{url: "redis://", problem: "must name a host"},
		{url: "redis://127.0.0.1:6379/db", problem: "database number"},
		{url: "http://127.0.0.1:6379", problem: "must start with redis://"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := Redis{URL: tt.url}.ConnOpt()
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Errorf("ConnOpt error = %v, want one containing %q", err, tt.problem)
				}
				c := Default()
				c.Redis.URL = tt.url
				wantProblem(t, c.Validate(), "redis.url", tt.problem)
				return
			}
			if err != nil {
				t.Fatalf("ConnOpt: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ConnOpt (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLinkKey(t *testing.T) {
	tests := []struct {
		baseURL, key string
		problem      string
	}{
		{baseURL: "http://localhost:8080"},
		{baseURL: "http://127.0.0.1:8080"},
		{baseURL: "https://mail.example.org", problem: "required unless practice.base_url is on localhost"},
		{baseURL: "https://mail.example.org", key: "0123456789abcdef"},
		{baseURL: "http://localhost:8080", key: "too-short", problem: "at least 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.baseURL+" "+tt.key, func(t *testing.T) {
			c := Default()
			c.Practice.BaseURL, c.Secrets.LinkKey = tt.baseURL, tt.key
			err := c.Validate()
			if tt.problem == "" {
				if err != nil {
					t.Errorf("Validate = %v", err)
				}
				return
			}
			wantProblem(t, err, "secrets.link_key", tt.problem)
		})
	}
}

func TestDataKeyLength(t *testing.T) {
	_, err := Load("", []string{"PRACTICEMAIL_SECRETS_DATA_KEY=MDEyMzQ1Njc4OWFiY2RlZg=="})
	wantProblem(t, err, "secrets.data_key", "exactly 32 bytes (got 16 bytes")
}

func TestDKIM(t *testing.T) {
	dir := t.TempDir()
	ed := writeKey(t, "ed25519.pem", func() (string, []byte) {
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		return "PRIVATE KEY", der
	})
	rsaKey := writeKey(t, "rsa.pem", func() (string, []byte) {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		return "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)
	})
	cert := writeKey(t, "cert.pem", func() (string, []byte) { return "CERTIFICATE", []byte{1} })
	notPEM := writeFile(t, "key.txt", "not a key")
	tests := []struct {
		name, domain, selector, file string
		key, problem                 string
	}{
		{name: "none"},
		{name: "ed25519", domain: "example.org", selector: "pm2026", file: ed},
		{name: "rsa", domain: "example.org", selector: "s1.mail", file: rsaKey},
		{name: "missing file", domain: "example.org", selector: "s", file: dir + "/nope.pem", key: "smtp.dkim_key_file", problem: "no such file"},
		{name: "not PEM", domain: "example.org", selector: "s", file: notPEM, key: "smtp.dkim_key_file", problem: "no PEM block"},
		{name: "a certificate", domain: "example.org", selector: "s", file: cert, key: "smtp.dkim_key_file", problem: "want RSA PRIVATE KEY or PRIVATE KEY"},
		{name: "no selector", domain: "example.org", file: ed, key: "smtp.dkim_selector", problem: "required when any of"},
		{name: "bad domain", domain: "exa mple.org", selector: "s", file: ed, key: "smtp.dkim_domain", problem: "dot-separated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.SMTP.DKIMDomain, c.SMTP.DKIMSelector, c.SMTP.DKIMKeyFile = tt.domain, tt.selector, tt.file
			err := c.Validate()
			if tt.problem != "" {
				wantProblem(t, err, tt.key, tt.problem)
				return
			}
			if err != nil {
				t.Fatalf("Validate = %v", err)
			}
			if c.SMTP.DKIM() != (tt.file != "") {
				t.Errorf("DKIM() = %v", c.SMTP.DKIM())
			}
			if !c.SMTP.DKIM() {
				return
			}
			switch key, err := c.SMTP.DKIMKey(); key.(type) {
			case *rsa.PrivateKey, ed25519.PrivateKey:
			default:
				t.Errorf("DKIMKey() = %T, %v; want an RSA or Ed25519 key", key, err)
			}
		})
	}
}

func writeKey(t *testing.T, name string, gen func() (string, []byte)) string {
	t.Helper()
	typ, der := gen()
	return writeFile(t, name, string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})))
}

// TestReturnPath: smtp.return_path is read from the file and the
// environment, and must be a bare address, as MAIL FROM takes it.
func TestReturnPath(t *testing.T) {
	c, err := loadYAML(t, "smtp:\n  return_path: bounces@stillpoint.example\n")
	if err != nil || c.SMTP.ReturnPath != "bounces@stillpoint.example" {
		t.Fatalf("Load = %+v, %v; want the return path", c, err)
	}
	c, err = Load("", []string{"PRACTICEMAIL_SMTP_RETURN_PATH=bounces+posts@stillpoint.example"})
	if err != nil || c.SMTP.ReturnPath != "bounces+posts@stillpoint.example" {
		t.Fatalf("Load = %+v, %v; want the return path from the environment", c, err)
	}
	for _, bad := range []string{"Bounces <bounces@stillpoint.example>", "bounces", "bounces@stillpoint.example\r\nRCPT TO:<x@y>"} {
		c := Default()
		c.SMTP.ReturnPath = bad
		wantProblem(t, c.Validate(), "smtp.return_path", "must be a bare email address")
	}
}

// TestAdminPassword: empty turns the admin routes off; set, it must be long
// enough that guessing at 30 a minute gets nowhere.
func TestAdminPassword(t *testing.T) {
	for _, tt := range []struct {
		password, problem string
	}{
		{password: ""},
		{password: "0123456789abcdef"},
		{password: "hunter2", problem: "must be at least 16 bytes long (got 7"},
		{password: "0123456789abcde", problem: "got 15"},
	} {
		t.Run(tt.password, func(t *testing.T) {
			c := Default()
			c.Secrets.AdminPassword = tt.password
			err := c.Validate()
			if tt.problem == "" {
				if err != nil {
					t.Errorf("Validate = %v", err)
				}
				return
			}
			wantProblem(t, err, "secrets.admin_password", tt.problem)
			if strings.Contains(err.Error(), tt.password) {
				t.Errorf("the problem quotes the password: %v", err)
			}
		})
	}
}
