package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeOrigin(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{in: "https://blog.example.org", want: "https://blog.example.org"},
		{in: "HTTPS://Blog.Example.ORG/", want: "https://blog.example.org"},
		{in: "  http://example.org:8080 ", want: "http://example.org:8080"},
		{in: "https://example.org:443", want: "https://example.org"},
		{in: "http://example.org:80/", want: "http://example.org"},
		{in: "http://example.org:443", want: "http://example.org:443"},
		{in: "https://bücher.example", want: "https://xn--bcher-kva.example"},
		{in: "http://127.0.0.1:5173", want: "http://127.0.0.1:5173"},
		{in: "http://[::1]:8080", want: "http://[::1]:8080"},
		{in: "http://[::1]", want: "http://[::1]"},
		{in: "https://example.org/blog", err: "without a path"},
		{in: "https://example.org/?x=1", err: "without a path, query"},
		{in: "https://example.org#top", err: "fragment"},
		{in: "https://user:secret@example.org", err: "user or password"},
		{in: "ftp://example.org", err: "http:// or https://"},
		{in: "example.org", err: "http:// or https://"},
		{in: "example.org:8080", err: "http:// or https://"},
		{in: "https://", err: "must name a host"},
		{in: "https:example.org", err: "must name a host"},
		{in: "*", err: "wildcards"},
		{in: "https://*.example.org", err: "wildcards"},
		{in: "https://example.org:99999", err: "not a port"},
		{in: "https://exa mple.org", err: "URL"},
		{in: "", err: "http:// or https://"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := NormalizeOrigin(c.in)
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("NormalizeOrigin(%q) = %v", c.in, err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("NormalizeOrigin(%q) = %q, %v; want an error containing %q", c.in, got, err, c.err)
			case got != c.want:
				t.Errorf("NormalizeOrigin(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func TestHTTPListsAndPrivacyLoad(t *testing.T) {
	type want struct {
		origins  []string
		proxies  []netip.Prefix
		recordIP bool
	}
	for _, c := range []struct {
		name string
		yaml string
		env  []string
		want want
	}{
		{name: "defaults", yaml: "", want: want{}},
		{
			name: "yaml lists",
			yaml: `http:
  allowed_origins:
    - HTTPS://Stillpoint.Example/
    - https://www.stillpoint.example:443
    - https://stillpoint.example
  trusted_proxies:
    - 10.0.0.0/8
    - 192.168.1.77/24
    - 127.0.0.1
    - ::1
    - ::ffff:10.1.2.3
privacy:
  record_ip: true
`,
			want: want{
				origins:  []string{"https://stillpoint.example", "https://www.stillpoint.example"},
				proxies:  prefixes("10.0.0.0/8", "192.168.1.0/24", "127.0.0.1/32", "::1/128", "10.1.2.3/32"),
				recordIP: true,
			},
		},
		{
			name: "one value with commas",
			yaml: "http:\n  allowed_origins: https://a.example, http://b.example:8080,\n  trusted_proxies: 10.0.0.5\n",
			want: want{origins: []string{"https://a.example", "http://b.example:8080"}, proxies: prefixes("10.0.0.5/32")},
		},
		{
			name: "environment replaces the file's lists",
			yaml: "http:\n  allowed_origins: [https://a.example]\n  trusted_proxies: [10.0.0.1]\nprivacy:\n  record_ip: true\n",
			env: []string{
				"PRACTICEMAIL_HTTP_ALLOWED_ORIGINS=https://B.example/, https://c.example",
				"PRACTICEMAIL_HTTP_TRUSTED_PROXIES=172.16.0.0/12,fd00::/8",
				"PRACTICEMAIL_PRIVACY_RECORD_IP=false",
			},
			want: want{origins: []string{"https://b.example", "https://c.example"}, proxies: prefixes("172.16.0.0/12", "fd00::/8")},
		},
		{
			name: "environment empties a list",
			yaml: "http:\n  allowed_origins: [https://a.example]\n",
			env:  []string{"PRACTICEMAIL_HTTP_ALLOWED_ORIGINS="},
			want: want{},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadYAML(t, c.yaml, c.env...)
			if err != nil {
				t.Fatal(err)
			}
			got := want{cfg.HTTP.AllowedOrigins, cfg.HTTP.TrustedProxies, cfg.Privacy.RecordIP}
			if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(want{}), cmpConfig); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Every bad item of a list is its own problem, with the line it is on.
func TestHTTPListProblemsNameEachItemsLine(t *testing.T) {
	_, path, err := loadYAMLAt(t, `http:
  allowed_origins:
    - https://ok.example
    - https://example.org/blog
    - "*"
  trusted_proxies:
    - 10.0.0.0/8
    - 10.0.0.300
    - 0.0.0.0/0
    - [10.0.0.1]
privacy:
  record_ip: maybe
`)
	p := problemsOf(t, err)
	for _, want := range []string{
		fmt.Sprintf(`http.allowed_origins[1]: must be scheme://host[:port] only, without a path, query or fragment (got "https://example.org/blog") (%s:4)`, path),
		fmt.Sprintf(`http.allowed_origins[2]: must be one origin such as https://blog.example.org; wildcards are not allowed (got "*") (%s:5)`, path),
		fmt.Sprintf(`http.trusted_proxies[3]: must be a single value, not a list or mapping (%s:10)`, path),
		fmt.Sprintf(`privacy.record_ip: must be true or false (got "maybe") (%s:12)`, path),
	} {
		if !slices.Contains(p, want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}

	// Without the nested list, the bad addresses and the /0 show.
	_, path, err = loadYAMLAt(t, "http:\n  trusted_proxies:\n    - 10.0.0.300\n    - 0.0.0.0/0\n    - fe80::1%eth0\n")
	p = problemsOf(t, err)
	for _, want := range []string{
		fmt.Sprintf(`http.trusted_proxies[0]: must be an IP address or a CIDR such as 10.0.0.0/8 (got "10.0.0.300") (%s:3)`, path),
		fmt.Sprintf(`http.trusted_proxies[1]: 0.0.0.0/0 trusts every address, so any client could forge X-Forwarded-For; list the proxies' own addresses (%s:4)`, path),
		fmt.Sprintf(`http.trusted_proxies[2]: must be an IP address or a CIDR such as 10.0.0.0/8 (got "fe80::1%%eth0") (%s:5)`, path),
	} {
		if !slices.Contains(p, want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}

// A variable's items are reported as the variable's, even where the file
// also had a list.
func TestHTTPListProblemsFromTheEnvironment(t *testing.T) {
	_, err := loadYAML(t, "http:\n  allowed_origins:\n    - https://a.example\n    - https://b.example\n",
		"PRACTICEMAIL_HTTP_ALLOWED_ORIGINS=https://ok.example,https://bad.example/path",
		"PRACTICEMAIL_HTTP_TRUSTED_PROXIES=10.0.0.1,nope",
		"PRACTICEMAIL_PRIVACY_RECORD_IP=sometimes")
	p := problemsOf(t, err)
	for _, want := range []string{
		`http.allowed_origins[1]: must be scheme://host[:port] only, without a path, query or fragment (got "https://bad.example/path") (from PRACTICEMAIL_HTTP_ALLOWED_ORIGINS)`,
		`http.trusted_proxies[1]: must be an IP address or a CIDR such as 10.0.0.0/8 (got "nope") (from PRACTICEMAIL_HTTP_TRUSTED_PROXIES)`,
		`privacy.record_ip: must be true or false (got "sometimes") (from PRACTICEMAIL_PRIVACY_RECORD_IP)`,
	} {
		if !slices.Contains(p, want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
	if len(p) != 3 {
		t.Errorf("%d problems, want 3:\n%v", len(p), err)
	}
}

// A Config built in code is checked the same way.
func TestValidateChecksHTTPListsBuiltInCode(t *testing.T) {
	c := Default()
	c.HTTP.AllowedOrigins = []string{"https://ok.example", "blog.example"}
	c.HTTP.TrustedProxies = []netip.Prefix{{}, netip.MustParsePrefix("::/0")}
	err := c.Validate()
	for _, key := range []string{"http.allowed_origins[1]", "http.trusted_proxies[0]", "http.trusted_proxies[1]"} {
		wantProblem(t, err, key, "")
	}
	if got := len(problemsOf(t, err)); got != 3 {
		t.Errorf("%d problems, want 3:\n%v", got, err)
	}
}
