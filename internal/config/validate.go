package config

import (
	"errors"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Validate checks c as Load does, returning every problem as Problems, or
// nil. It is for a Config built or changed in code; Load already calls it.
func (c *Config) Validate() error {
	return c.problems().orNil()
}

func (c *Config) problems() Problems {
	var p Problems
	c.Practice.check(&p, c.SMTP.URL != "", len(c.Feeds) > 0)
	c.HTTP.check(&p)
	c.Database.check(&p)
	c.Redis.check(&p)
	c.SMTP.check(&p)
	checkFeeds(&p, c.Feeds)
	c.Inquiries.check(&p)
	c.Secrets.check(&p, isLoopbackURL(c.Practice.BaseURL))
	c.Secrets.checkDataKeys(&p, c.InquiriesOn())
	if c.Worker.Concurrency < 1 {
		p.add("worker.concurrency", "must be at least 1 (got %d)", c.Worker.Concurrency)
	}
	if c.Worker.BatchSize < 1 || c.Worker.BatchSize > 10000 {
		p.add("worker.batch_size", "must be from 1 to 10000 (got %d)", c.Worker.BatchSize)
	}
	oneOf(&p, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(&p, "log.format", c.Log.Format, "text", "json")
	return p
}

// check validates the practice; sending says smtp.url is set, posting that
// feeds are configured, whose emails need a From and, by law (CAN-SPAM), a
// postal address.
func (pr Practice) check(p *Problems, sending, posting bool) {
	if strings.TrimSpace(pr.Name) == "" {
		p.add("practice.name", "required")
	}
	checkWebURL(p, "practice.base_url", pr.BaseURL, true)
	checkWebURL(p, "practice.booking_url", pr.BookingURL, false)
	checkTimeZone(p, "practice.time_zone", pr.TimeZone)
	switch {
	case pr.From == "" && sending:
		p.add("practice.from", "required when smtp.url is set")
	case pr.From == "" && posting:
		p.add("practice.from", "required when feeds are configured: posts are emailed from it")
	}
	if strings.TrimSpace(pr.PostalAddress) == "" && posting {
		p.add("practice.postal_address", "required when feeds are configured: every post email carries it (CAN-SPAM)")
	}
	checkAddress(p, "practice.from", pr.From)
	checkAddress(p, "practice.reply_to", pr.ReplyTo)
	checkAddress(p, "practice.notify_email", pr.NotifyEmail)
}

func (s Secrets) check(p *Problems, localBase bool) {
	switch {
	case s.LinkKey == "" && !localBase:
		p.add("secrets.link_key", "required unless practice.base_url is on localhost (make one with: openssl rand -base64 32)")
	case s.LinkKey != "" && len(s.LinkKey) < 16:
		p.add("secrets.link_key", "must be at least 16 bytes long (got %d)", len(s.LinkKey))
	}
	// The admin routes are reachable by anyone who can reach the site, and
	// guesses are limited per client address only.
	if s.AdminPassword != "" && len(s.AdminPassword) < MinAdminPassword {
		p.add("secrets.admin_password", "must be at least %d bytes long (got %d; make one with: openssl rand -base64 24)",
			MinAdminPassword, len(s.AdminPassword))
	}
}

// MinAdminPassword is the shortest secrets.admin_password accepted.
const MinAdminPassword = 16

func oneOf(p *Problems, key, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		p.add(key, "must be one of %s (got %q)", strings.Join(allowed, ", "), v)
	}
}

// checkWebURL wants an absolute http(s) URL. It quotes the URL back only
// with any password redacted.
func checkWebURL(p *Problems, key, raw string, required bool) {
	if raw == "" {
		if required {
			p.add(key, "required")
		}
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		p.add(key, "not a URL: %v", urlErr(err))
	case u.Scheme != "http" && u.Scheme != "https":
		p.add(key, "must be an absolute http:// or https:// URL (got %q)", u.Redacted())
	case u.Host == "":
		p.add(key, "must name a host (got %q)", u.Redacted())
	}
}

func checkTimeZone(p *Problems, key, tz string) {
	switch tz {
	case "":
		p.add(key, "required, for example America/Denver or UTC")
		return
	case "Local":
		p.add(key, "must name a zone such as America/Denver; Local differs from machine to machine")
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		p.add(key, "unknown time zone %q", tz)
	}
}

func checkAddress(p *Problems, key, addr string) {
	if addr == "" {
		return
	}
	if _, err := mail.ParseAddress(addr); err != nil {
		p.add(key, "not an email address: %v (got %q)", err, addr)
	}
}

func checkListenAddr(p *Problems, key, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		p.add(key, "must be host:port, for example 127.0.0.1:8080 or :8080 (got %q)", addr)
	}
}

// urlErr drops the URL from url.Parse's error: it may hold a password.
func urlErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && isLoopbackHost(u.Hostname())
}

// isLoopbackHost reports whether host is localhost, 127.0.0.0/8 or ::1.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
