package config

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// setter stores the written value of one key into a T, converting it to the
// field's type. Meaning (ranges, choices, URLs) is Validate's business, so
// that a Config built in code is checked the same way.
type setter[T any] func(dst *T, v string) error

// sections lists every key of every section except feeds, by YAML name.
// The environment names derive from it: smtp.outbox_dir is
// PRACTICEMAIL_SMTP_OUTBOX_DIR.
var sections = map[string]map[string]setter[Config]{
	"practice": {
		"name":           text(func(c *Config) *string { return &c.Practice.Name }),
		"base_url":       text(func(c *Config) *string { return &c.Practice.BaseURL }),
		"time_zone":      text(func(c *Config) *string { return &c.Practice.TimeZone }),
		"postal_address": text(func(c *Config) *string { return &c.Practice.PostalAddress }),
		"notify_email":   text(func(c *Config) *string { return &c.Practice.NotifyEmail }),
		"booking_url":    text(func(c *Config) *string { return &c.Practice.BookingURL }),
		"from":           text(func(c *Config) *string { return &c.Practice.From }),
		"reply_to":       text(func(c *Config) *string { return &c.Practice.ReplyTo }),
	},
	"http": {
		"addr":            text(func(c *Config) *string { return &c.HTTP.Addr }),
		"allowed_origins": commaList(listKeys["http.allowed_origins"]),
		"trusted_proxies": commaList(listKeys["http.trusted_proxies"]),
	},
	"privacy":   {"record_ip": boolean(func(c *Config) *bool { return &c.Privacy.RecordIP })},
	"database":  {"url": text(func(c *Config) *string { return &c.Database.URL })},
	"redis":     {"url": text(func(c *Config) *string { return &c.Redis.URL })},
	"sequences": {"dir": text(func(c *Config) *string { return &c.Sequences.Dir })},
	"inquiries": {
		"retention":        duration(func(c *Config) *time.Duration { return &c.Inquiries.Retention }),
		"crisis_words":     commaList(listKeys["inquiries.crisis_words"]),
		"crisis_resources": text(func(c *Config) *string { return &c.Inquiries.CrisisResources }),
	},
	"smtp": {
		"url":           text(func(c *Config) *string { return &c.SMTP.URL }),
		"tls":           text(func(c *Config) *string { return &c.SMTP.TLS }),
		"outbox_dir":    text(func(c *Config) *string { return &c.SMTP.OutboxDir }),
		"connections":   integer(func(c *Config) *int { return &c.SMTP.Connections }),
		"rate":          rate(func(c *Config) *Rate { return &c.SMTP.Rate }),
		"timeout":       duration(func(c *Config) *time.Duration { return &c.SMTP.Timeout }),
		"dkim_domain":   text(func(c *Config) *string { return &c.SMTP.DKIMDomain }),
		"dkim_selector": text(func(c *Config) *string { return &c.SMTP.DKIMSelector }),
		"dkim_key_file": text(func(c *Config) *string { return &c.SMTP.DKIMKeyFile }),
		"return_path":   text(func(c *Config) *string { return &c.SMTP.ReturnPath }),
	},
	"secrets": {
		"link_key":          text(func(c *Config) *string { return &c.Secrets.LinkKey }),
		"data_key":          base64Key(func(c *Config) *[]byte { return &c.Secrets.DataKey }),
		"data_key_previous": commaList(listKeys["secrets.data_key_previous"]),
		"webhook_key":       text(func(c *Config) *string { return &c.Secrets.WebhookKey }),
		"calendly_key":      text(func(c *Config) *string { return &c.Secrets.CalendlyKey }),
		"calcom_secret":     text(func(c *Config) *string { return &c.Secrets.CalcomSecret }),
		"admin_password":    text(func(c *Config) *string { return &c.Secrets.AdminPassword }),
	},
	"worker": {
		"concurrency": integer(func(c *Config) *int { return &c.Worker.Concurrency }),
		"batch_size":  integer(func(c *Config) *int { return &c.Worker.BatchSize }),
	},
	"log": {
		"level":  text(func(c *Config) *string { return &c.Log.Level }),
		"format": text(func(c *Config) *string { return &c.Log.Format }),
	},
}

// feedKeys lists the keys of one item of the feeds list.
var feedKeys = map[string]setter[Feed]{
	"name":      text(func(f *Feed) *string { return &f.Name }),
	"url":       text(func(f *Feed) *string { return &f.URL }),
	"every":     duration(func(f *Feed) *time.Duration { return &f.Every }),
	"mode":      text(func(f *Feed) *string { return &f.Mode }),
	"digest":    text(func(f *Feed) *string { return &f.Digest }),
	"hold_over": integer(func(f *Feed) *int { return &f.HoldOver }),
}

func text[T any](field func(*T) *string) setter[T] {
	return func(dst *T, v string) error {
		*field(dst) = v
		return nil
	}
}

func boolean[T any](field func(*T) *bool) setter[T] {
	return func(dst *T, v string) error {
		b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v)))
		if err != nil {
			return fmt.Errorf("must be true or false (got %q)", v)
		}
		*field(dst) = b
		return nil
	}
}

func integer[T any](field func(*T) *int) setter[T] {
	return func(dst *T, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("must be a whole number (got %q)", v)
		}
		*field(dst) = n
		return nil
	}
}

func duration[T any](field func(*T) *time.Duration) setter[T] {
	return func(dst *T, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("must be a duration such as 30s, 15m or 1h (got %q)", v)
		}
		*field(dst) = d
		return nil
	}
}

func rate[T any](field func(*T) *Rate) setter[T] {
	return func(dst *T, v string) error {
		r, err := ParseRate(v)
		if err != nil {
			return err
		}
		*field(dst) = r
		return nil
	}
}

// base64Key never quotes the value it refuses: it is a secret.
func base64Key[T any](field func(*T) *[]byte) setter[T] {
	return func(dst *T, v string) error {
		v = strings.TrimSpace(v)
		if v == "" {
			*field(dst) = nil
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return fmt.Errorf("must be standard base64 (for example from: openssl rand -base64 32)")
		}
		*field(dst) = b
		return nil
	}
}
