package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// listSetter stores the items of a list key: a YAML sequence, or one value
// with the items separated by commas (the form of an environment
// variable). Items it refuses come back as itemErrors, so that each is
// reported with its own line.
type listSetter[T any] func(dst *T, items []string) error

// listKeys are the keys of sections whose value is a list.
var listKeys = map[string]listSetter[Config]{
	"http.allowed_origins": func(c *Config, items []string) error {
		c.HTTP.AllowedOrigins = items
		return nil
	},
	"http.trusted_proxies": func(c *Config, items []string) error {
		prefixes, err := parseProxies(items)
		c.HTTP.TrustedProxies = prefixes
		return err
	},
	"inquiries.crisis_words": func(c *Config, items []string) error {
		c.Inquiries.CrisisWords = nil
		if len(items) > 0 {
			c.Inquiries.CrisisWords = items
		}
		return nil
	},
	"secrets.data_key_previous": base64Keys(func(c *Config) *[][]byte { return &c.Secrets.DataKeyPrevious }),
}

// commaList is the setter of a list key written as one value:
// "https://a.example, https://b.example". Lines separate items too, so
// that a _FILE variable may hold one key a line. Empty items (a trailing
// comma) are dropped.
func commaList[T any](set listSetter[T]) setter[T] {
	return func(dst *T, v string) error {
		var items []string
		for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		return set(dst, items)
	}
}

// itemError is the problem with one item of a list, by its index.
type itemError struct {
	index int
	err   error
}

// itemErrors are the problems with the items of one list.
type itemErrors []itemError

func (e itemErrors) Error() string {
	msgs := make([]string, len(e))
	for i, ie := range e {
		msgs[i] = fmt.Sprintf("[%d]: %v", ie.index, ie.err)
	}
	return strings.Join(msgs, "; ")
}

// parseProxies reads CIDRs ("10.0.0.0/8") and bare addresses ("10.0.0.5",
// one address). Host bits are masked off and IPv4-mapped IPv6 addresses
// unmapped, so that the prefixes compare with a connection's address. An
// item it refuses stays as an invalid Prefix, so that the others keep
// their index.
func parseProxies(items []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, len(items))
	var bad itemErrors
	for i, item := range items {
		p, err := parseProxy(strings.TrimSpace(item))
		if err != nil {
			bad = append(bad, itemError{i, err})
		}
		out[i] = p
	}
	if bad != nil {
		return out, bad
	}
	return out, nil
}

func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("must be an IP address or a CIDR such as 10.0.0.0/8 (got %q)", s)
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("must be an IP address or a CIDR such as 10.0.0.0/8 (got %q)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
