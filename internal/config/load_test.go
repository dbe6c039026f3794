package config

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestLoadWithoutFileIsDefault(t *testing.T) {
	got, err := Load("", []string{"HOME=/root", "PATH=/bin"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(Default(), got, cmpConfig); diff != "" {
		t.Errorf("Load(\"\") differs from Default() (-want +got):\n%s", diff)
	}
}

func TestExampleFileLoads(t *testing.T) {
	const example = "../../deploy/practicemail.example.yaml"
	got, err := Load(example, nil)
	if err != nil {
		t.Fatalf("Load example: %v", err)
	}
	denver, err := time.LoadLocation("America/Denver")
	if err != nil {
		t.Fatal(err)
	}
	want := defaultBeside(example)
	want.Practice = Practice{
		Name:          "Stillpoint Counseling",
		BaseURL:       "https://mail.stillpoint.example",
		TimeZone:      "America/Denver",
		Location:      denver,
		PostalAddress: "1200 Pearl St, Suite 4, Boulder, CO 80302",
		NotifyEmail:   "intake@stillpoint.example",
		BookingURL:    "https://stillpoint.example/consult",
		From:          "Stillpoint Counseling <hello@stillpoint.example>",
		ReplyTo:       "hello@stillpoint.example",
	}
	want.HTTP.AllowedOrigins = []string{"https://stillpoint.example", "https://www.stillpoint.example"}
	want.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	want.Redis.URL = "redis://127.0.0.1:6379/0"
	want.SMTP.URL = "smtp://hello%40stillpoint.example:CHANGE-ME@smtp.example:587"
	want.Feeds = []Feed{{Name: "blog", URL: "https://stillpoint.example/feed/", Every: 15 * time.Minute, Mode: ModeEach, HoldOver: 3}}
	want.Secrets = Secrets{
		LinkKey: "CHANGE-ME-use-openssl-rand-base64-32",
		DataKey: []byte("CHANGE-ME-CHANGE-ME-CHANGE-ME-32"),
	}
	if diff := cmp.Diff(want, got, cmpConfig); diff != "" {
		t.Errorf("example config (-want +got):\n%s", diff)
	}
}

// TestExampleFileNamesEveryKey keeps the example complete as keys are added.
func TestExampleFileNamesEveryKey(t *testing.T) {
	data, err := os.ReadFile("../../deploy/practicemail.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Sections map[string]map[string]any `yaml:",inline"`
		Feeds    []map[string]any          `yaml:"feeds"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for section, keys := range sections {
		for key := range keys {
			if _, ok := doc.Sections[section][key]; !ok {
				t.Errorf("example lacks %s.%s", section, key)
			}
		}
	}
	if len(doc.Feeds) == 0 {
		t.Fatal("example has no feed")
	}
	for key := range feedKeys {
		if _, ok := doc.Feeds[0][key]; !ok {
			t.Errorf("example lacks feeds[].%s", key)
		}
	}
}

func TestDevFixtureLoads(t *testing.T) {
	got, err := Load("testdata/dev.yaml", nil)
	if err != nil {
		t.Fatalf("Load dev fixture: %v", err)
	}
	if got.SMTP.URL != "" || got.Secrets.LinkKey != "" || got.Practice.Location.String() != "America/Denver" {
		t.Errorf("dev config: smtp.url %q, link key set %v, location %v; want outbox, no key, America/Denver",
			got.SMTP.URL, got.Secrets.LinkKey != "", got.Practice.Location)
	}
}

func TestLoadYAMLValues(t *testing.T) {
	got, path, err := loadYAMLAt(t, `
practice:
  from: hello@example.org
  postal_address: 1 Main St
smtp:
  connections: 12
  rate: 100/m
  timeout: 1m
feeds:
  - name: news
    url: https://example.org/feed.json
    digest: "fri 16:30"
    hold_over: -1
  - name: blog
    url: https://example.org/blog.xml
    every: 1s
`)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := defaultBeside(path).SMTP
	want.Connections, want.Rate, want.Timeout = 12, Rate{N: 100, Per: time.Minute}, time.Minute
	if diff := cmp.Diff(want, got.SMTP); diff != "" {
		t.Errorf("smtp (-want +got):\n%s", diff)
	}
	wantFeeds := []Feed{
		{Name: "news", URL: "https://example.org/feed.json", Every: 15 * time.Minute, Mode: ModeEach, Digest: "fri 16:30", HoldOver: -1},
		{Name: "blog", URL: "https://example.org/blog.xml", Every: time.Second, Mode: ModeEach, HoldOver: 3},
	}
	if diff := cmp.Diff(wantFeeds, got.Feeds); diff != "" {
		t.Errorf("feeds (-want +got):\n%s", diff)
	}
}
