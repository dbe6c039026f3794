package config

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strconv"
)

// Host is the host name in URL, "" when URL is empty or unreadable.
func (s SMTP) Host() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Port is the port in URL, or the submission port when URL names none:
// 465 for smtps:// (TLS from the start), 587 for smtp:// (STARTTLS).
func (s SMTP) Port() int {
	u, err := url.Parse(s.URL)
	if err != nil {
		return 0
	}
	if n, err := strconv.Atoi(u.Port()); err == nil {
		return n
	}
	if u.Scheme == "smtps" {
		return 465
	}
	return 587
}

// ImplicitTLS reports whether URL is smtps://, TLS from the first byte
// rather than STARTTLS.
func (s SMTP) ImplicitTLS() bool {
	u, err := url.Parse(s.URL)
	return err == nil && u.Scheme == "smtps"
}

// Credentials are the user name and password in URL, unescaped; both are
// empty when the server needs no authentication.
func (s SMTP) Credentials() (username, password string) {
	u, err := url.Parse(s.URL)
	if err != nil || u.User == nil {
		return "", ""
	}
	password, _ = u.User.Password()
	return u.User.Username(), password
}

// DKIM reports whether messages are to be DKIM-signed.
func (s SMTP) DKIM() bool {
	return s.DKIMDomain != "" && s.DKIMSelector != "" && s.DKIMKeyFile != ""
}

// DKIMKey reads the private key in DKIMKeyFile: PEM, PKCS#1 RSA or PKCS#8
// RSA or Ed25519. The result is *rsa.PrivateKey or ed25519.PrivateKey.
func (s SMTP) DKIMKey() (crypto.Signer, error) {
	data, err := os.ReadFile(s.DKIMKeyFile)
	if err != nil {
		return nil, fmt.Errorf("read DKIM key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("DKIM key %s holds no PEM block", s.DKIMKeyFile)
	}
	key, err := parsePrivateKey(block)
	if err != nil {
		return nil, fmt.Errorf("DKIM key %s: %w", s.DKIMKeyFile, err)
	}
	return key, nil
}

func parsePrivateKey(block *pem.Block) (crypto.Signer, error) {
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want RSA PRIVATE KEY or PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			return nil, fmt.Errorf("RSA key of %d bits is too short for DKIM (use 2048)", k.N.BitLen())
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, errors.New("key is neither RSA nor Ed25519")
}

func (s SMTP) check(p *Problems) {
	oneOf(p, "smtp.tls", s.TLS, TLSMandatory, TLSOpportunistic, TLSNone)
	if s.URL == "" && s.OutboxDir == "" {
		p.add("smtp.outbox_dir", "required when smtp.url is empty")
	}
	if s.URL != "" {
		s.checkURL(p)
	}
	if s.Connections < 1 || s.Connections > 64 {
		p.add("smtp.connections", "must be between 1 and 64 (got %d)", s.Connections)
	}
	if err := s.Rate.check(); err != nil {
		p.add("smtp.rate", "%v", err)
	}
	if s.Timeout <= 0 {
		p.add("smtp.timeout", "must be positive (got %s)", s.Timeout)
	}
	s.checkDKIM(p)
	s.checkReturnPath(p)
}

// checkReturnPath wants a bare address: it goes in MAIL FROM, where a
// display name has no place.
func (s SMTP) checkReturnPath(p *Problems) {
	if s.ReturnPath == "" {
		return
	}
	a, err := mail.ParseAddress(s.ReturnPath)
	if err != nil || a.Address != s.ReturnPath {
		p.add("smtp.return_path", "must be a bare email address such as bounces@stillpoint.example (got %q)", s.ReturnPath)
	}
}

// checkURL never quotes the URL: it may hold a password.
func (s SMTP) checkURL(p *Problems) {
	u, err := url.Parse(s.URL)
	if err != nil {
		p.add("smtp.url", "not a URL: %v", urlErr(err))
		return
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		p.add("smtp.url", "must start with smtp:// or smtps:// (got scheme %q)", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		p.add("smtp.url", "must name a host, as in smtp://user:pass@smtp.example:587")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			p.add("smtp.url", "port must be between 1 and 65535 (got %q)", port)
		}
	}
	if s.TLS != TLSNone {
		return
	}
	if !isLoopbackHost(host) {
		p.add("smtp.tls", "none is allowed only for a loopback SMTP host such as 127.0.0.1 or localhost (got host %q)", host)
	}
	if u.Scheme == "smtps" {
		p.add("smtp.tls", "none contradicts smtps://, which is TLS from the first byte")
	}
}

// dnsName is a domain name or a DKIM selector: dot-separated labels.
var dnsName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

func (s SMTP) checkDKIM(p *Problems) {
	trio := []struct{ key, value string }{
		{"smtp.dkim_domain", s.DKIMDomain},
		{"smtp.dkim_selector", s.DKIMSelector},
		{"smtp.dkim_key_file", s.DKIMKeyFile},
	}
	var missing []string
	for _, f := range trio {
		if f.value == "" {
			missing = append(missing, f.key)
		}
	}
	switch len(missing) {
	case len(trio):
		return
	case 0:
	default:
		for _, key := range missing {
			p.add(key, "required when any of smtp.dkim_domain, smtp.dkim_selector and smtp.dkim_key_file is set")
		}
		return
	}
	for _, f := range trio[:2] {
		if !dnsName.MatchString(f.value) {
			p.add(f.key, "must be dot-separated letters, digits and hyphens (got %q)", f.value)
		}
	}
	if _, err := s.DKIMKey(); err != nil {
		p.add("smtp.dkim_key_file", "%v", err)
	}
}
