package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Inquiries configures what happens to a prospective client's inquiry.
type Inquiries struct {
	// Retention is how long an inquiry's sealed message (and preferred
	// time) is kept; a periodic task deletes older ones. The contact
	// record is kept apart and stays.
	Retention time.Duration
	// CrisisWords are phrases, beyond the built-in ones, that mark an
	// inquiry URGENT (crisis.New takes them).
	CrisisWords []string
	// CrisisResources is the text every inquiry page and email carries
	// for someone in danger; change it for another country.
	CrisisResources string
}

// The defaults of the inquiries section.
const (
	DefaultInquiryRetention = 180 * 24 * time.Hour
	DefaultCrisisResources  = "In the US, call or text 988 (Suicide & Crisis Lifeline). In an emergency, call 911."
)

// InquiriesOn reports whether the inquiry routes are served: they are
// when practice.notify_email says where to tell the practice.
func (c *Config) InquiriesOn() bool {
	return c.Practice.NotifyEmail != ""
}

func (in Inquiries) check(p *Problems) {
	if in.Retention < time.Hour {
		p.add("inquiries.retention", "must be at least 1h (got %s)", in.Retention)
	}
	for i, w := range in.CrisisWords {
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			p.add(fmt.Sprintf("inquiries.crisis_words[%d]", i), "has no letters or digits (got %q)", w)
		}
	}
	if strings.TrimSpace(in.CrisisResources) == "" {
		p.add("inquiries.crisis_resources", "required: every inquiry page and email carries it")
	}
}

// checkDataKeys validates the inquiry encryption keys; inquiries says the
// inquiry routes are on, which need a key. It never quotes a key.
func (s Secrets) checkDataKeys(p *Problems, inquiries bool) {
	switch {
	case len(s.DataKey) == 0 && inquiries:
		p.add("secrets.data_key", "required when practice.notify_email is set, to encrypt inquiries; make one with: openssl rand -base64 32")
	case len(s.DataKey) != 0 && len(s.DataKey) != 32:
		p.add("secrets.data_key", "must be the base64 of exactly 32 bytes (got %d bytes; make one with: openssl rand -base64 32)", len(s.DataKey))
	}
	if len(s.DataKeyPrevious) > 0 && len(s.DataKey) == 0 {
		p.add("secrets.data_key_previous", "needs secrets.data_key: previous keys only open, the current one seals")
	}
	for i, k := range s.DataKeyPrevious {
		key := fmt.Sprintf("secrets.data_key_previous[%d]", i)
		switch {
		case len(k) != 32:
			p.add(key, "must be the base64 of exactly 32 bytes (got %d bytes)", len(k))
		case bytes.Equal(k, s.DataKey):
			p.add(key, "is secrets.data_key itself; list only the keys it replaced")
		}
	}
}

// DataKeys are the inquiry keys in the order seal.New takes them: the
// current key, which seals, then the previous ones, which only open. Nil
// without a current key.
func (s Secrets) DataKeys() [][]byte {
	if len(s.DataKey) == 0 {
		return nil
	}
	return append([][]byte{s.DataKey}, s.DataKeyPrevious...)
}

// base64Keys sets a list of keys, each base64; an item it refuses is
// named by its index, never quoted: it is a secret.
func base64Keys(field func(*Config) *[][]byte) listSetter[Config] {
	return func(c *Config, items []string) error {
		var keys [][]byte
		if len(items) > 0 {
			keys = make([][]byte, len(items))
		}
		var bad itemErrors
		for i, item := range items {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(item))
			if err != nil {
				bad = append(bad, itemError{i, errors.New("must be standard base64 (for example from: openssl rand -base64 32)")})
			}
			keys[i] = b
		}
		*field(c) = keys
		if bad != nil {
			return bad
		}
		return nil
	}
}
