package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEnvOverridesFile(t *testing.T) {
	got, path, err := loadYAMLAt(t, "smtp:\n  url: smtp://127.0.0.1:2525\n  tls: none\npractice:\n  from: a@example.org\n",
		"PRACTICEMAIL_SMTP_URL=smtps://mail.example.org",
		"PRACTICEMAIL_SMTP_TLS=mandatory",
		"PRACTICEMAIL_SMTP_RATE=3600/h",
		"PRACTICEMAIL_HTTP_ADDR=:9090",
		"PRACTICEMAIL_LOG_FORMAT=json",
		"PRACTICEMAIL_WORKER_CONCURRENCY=2",
		"OTHER_VARIABLE=ignored",
	)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := defaultBeside(path)
	want.Practice.From = "a@example.org"
	want.SMTP.URL = "smtps://mail.example.org"
	want.SMTP.Rate = Rate{N: 3600, Per: time.Hour}
	want.HTTP.Addr = ":9090"
	want.Log.Format = "json"
	want.Worker.Concurrency = 2
	if diff := cmp.Diff(want, got, cmpConfig); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestEnvFileSecrets(t *testing.T) {
	linkKey := writeFile(t, "link_key", "0123456789abcdef0123\n")
	dataKey := writeFile(t, "data_key", "Q0hBTkdFLU1FLUNIQU5HRS1NRS1DSEFOR0UtTUUtMzI=\r\n")
	smtpURL := writeFile(t, "smtp_url", "smtp://user:p%40ss@127.0.0.1:2525")
	got, err := Load("", []string{
		"PRACTICEMAIL_PRACTICE_BASE_URL=https://mail.example.org",
		"PRACTICEMAIL_PRACTICE_FROM=a@example.org",
		"PRACTICEMAIL_SECRETS_LINK_KEY_FILE=" + linkKey,
		"PRACTICEMAIL_SECRETS_DATA_KEY_FILE=" + dataKey,
		"PRACTICEMAIL_SMTP_URL_FILE=" + smtpURL,
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.Secrets.LinkKey != "0123456789abcdef0123" {
		t.Errorf("link key = %q, want the file's contents without the newline", got.Secrets.LinkKey)
	}
	if string(got.Secrets.DataKey) != "CHANGE-ME-CHANGE-ME-CHANGE-ME-32" {
		t.Errorf("data key = %q, want the decoded file contents", got.Secrets.DataKey)
	}
	user, pass := got.SMTP.Credentials()
	if user != "user" || pass != "p@ss" || got.SMTP.Host() != "127.0.0.1" || got.SMTP.Port() != 2525 {
		t.Errorf("smtp = %q %q %q %d, want user, p@ss, 127.0.0.1, 2525", user, pass, got.SMTP.Host(), got.SMTP.Port())
	}
}

func TestEnvProblems(t *testing.T) {
	secret := writeFile(t, "secret", "0123456789abcdef")
	tests := []struct {
		name     string
		env      []string
		key, has string
	}{
		{"unknown variable", []string{"PRACTICEMAIL_SMTP_URLL=x"}, "PRACTICEMAIL_SMTP_URLL", "unknown environment variable"},
		{"unknown section", []string{"PRACTICEMAIL_SMPT_URL=x"}, "PRACTICEMAIL_SMPT_URL", "unknown environment variable"},
		{"no key", []string{"PRACTICEMAIL_=x"}, "PRACTICEMAIL_", "unknown environment variable"},
		{"config path is not a key", []string{"PRACTICEMAIL_CONFIG=x.yaml"}, "PRACTICEMAIL_CONFIG", "unknown environment variable"},
		{"unknown feed key", []string{"PRACTICEMAIL_FEEDS_0_LINK=x"}, "PRACTICEMAIL_FEEDS_0_LINK", "unknown environment variable"},
		{"bad value names its variable", []string{"PRACTICEMAIL_SMTP_CONNECTIONS=many"}, "smtp.connections", `(got "many") (from PRACTICEMAIL_SMTP_CONNECTIONS)`},
		{"missing file", []string{"PRACTICEMAIL_SECRETS_WEBHOOK_KEY_FILE=/nonexistent/key"}, "secrets.webhook_key", "cannot read the file PRACTICEMAIL_SECRETS_WEBHOOK_KEY_FILE names"},
		{"value and file", []string{"PRACTICEMAIL_SECRETS_LINK_KEY=0123456789abcdef", "PRACTICEMAIL_SECRETS_LINK_KEY_FILE=" + secret}, "secrets.link_key", "set by both PRACTICEMAIL_SECRETS_LINK_KEY and PRACTICEMAIL_SECRETS_LINK_KEY_FILE"},
		{"feed index too large", []string{"PRACTICEMAIL_FEEDS_100_URL=https://example.org/"}, "feeds[100].url", "feed index must be below 100"},
		{"feed gap", []string{"PRACTICEMAIL_FEEDS_1_NAME=b", "PRACTICEMAIL_FEEDS_1_URL=https://example.org/"}, "feeds[0].name", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", tt.env)
			wantProblem(t, err, tt.key, tt.has)
		})
	}
}

func TestEnvFeeds(t *testing.T) {
	got, err := loadYAML(t, "practice:\n  from: hello@example.org\n  postal_address: 1 Main St\n"+
		"feeds:\n  - name: blog\n    url: https://example.org/old\n",
		"PRACTICEMAIL_FEEDS_0_URL=https://example.org/feed",
		"PRACTICEMAIL_FEEDS_1_NAME=news",
		"PRACTICEMAIL_FEEDS_1_URL=https://example.org/news",
		"PRACTICEMAIL_FEEDS_1_HOLD_OVER=-1",
		"PRACTICEMAIL_FEEDS_1_DIGEST=Sun 18:00",
	)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []Feed{
		{Name: "blog", URL: "https://example.org/feed", Every: 15 * time.Minute, Mode: ModeEach, HoldOver: 3},
		{Name: "news", URL: "https://example.org/news", Every: 15 * time.Minute, Mode: ModeEach, Digest: "Sun 18:00", HoldOver: -1},
	}
	if diff := cmp.Diff(want, got.Feeds); diff != "" {
		t.Errorf("feeds (-want +got):\n%s", diff)
	}
}
