package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/practicemail/practicemail/internal/store"
)

// Limits of an inquiry's fields. The message is what the person needs to
// say, and 10,000 characters is several pages; the body cap
// (maxInquiryBody) leaves room for it in any script, percent-encoded.
const (
	maxMessage       = 10000
	maxPreferredTime = 200
	maxPhone         = 40
	maxInquiryBody   = 128 << 10
)

// inquiryForm is what POST /inquiries carries, as a form or as JSON. Field
// names are stable: the README's snippet and outside tests use them.
//
// Consent is a yes or no, never required: someone who writes on a hard
// night and misses a box still reaches the practice, and gets no follow-up
// emails. In a form it is the checkbox consent=yes; in JSON a boolean.
type inquiryForm struct {
	Name          string `json:"name"`
	Email         string `json:"email"`
	Phone         string `json:"phone"`
	Message       string `json:"message"`
	PreferredTime string `json:"preferred_time"`
	TimeZone      string `json:"time_zone"`
	Consent       bool   `json:"consent"`
	News          bool   `json:"news"`    // yes to hearing of openings and news (campaigns to inquirers)
	Website       string `json:"website"` // the honeypot
	Stamp         string `json:"-"`       // "ts"

	source  string
	address string // Email, checked and normalised by Validate
}

// readInquiry reads the inquiry from r's body: JSON, urlencoded or
// multipart. Its errors never quote the body.
func readInquiry(r *http.Request) (inquiryForm, error) {
	var f inquiryForm
	switch mt := mediaType(r); mt {
	case "application/json":
		f.source = sourceJSON
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return f, err
		}
		// Decoding would turn bad UTF-8 into U+FFFD: a message is refused
		// rather than silently changed.
		if !utf8.Valid(body) {
			return f, errors.New("invalid UTF-8")
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&f); err != nil {
			return f, errors.New("not one JSON object of the inquiry's fields")
		}
		if _, err := dec.Token(); err != io.EOF {
			return f, errors.New("trailing data after the JSON object")
		}
		return f, checkUTF8(f.Name, f.Email, f.Phone, f.Message, f.PreferredTime, f.TimeZone, f.Website)
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := parseForm(r, mt); err != nil {
			return f, err
		}
		pf := r.PostForm
		f.Name, f.Email, f.Phone, f.Message = pf.Get("name"), pf.Get("email"), pf.Get("phone"), pf.Get("message")
		f.PreferredTime, f.TimeZone, f.Website, f.Stamp = pf.Get("preferred_time"), pf.Get("time_zone"), pf.Get("website"), pf.Get("ts")
		f.Consent = pf.Get("consent") == "yes"
		f.News = pf.Get("news") == "yes"
		f.source = sourceSnippet
		if pf.Has("ts") {
			f.source = sourceForm
		}
		var all []string
		for _, vs := range pf {
			all = append(all, vs...)
		}
		return f, checkUTF8(all...)
	}
	return f, errUnsupported
}

// Validate checks the inquiry and normalises it, returning a message per
// field at fault, or nil. The messages never quote what was typed.
func (f *inquiryForm) Validate() map[string]string {
	errs := map[string]string{}
	addr, msg := checkAddress(f.Email)
	if msg != "" {
		errs["email"] = msg
	}
	f.address = addr
	if f.Name = store.CleanName(f.Name); f.Name == "" {
		errs["name"] = "Please tell us your name, or what you would like to be called."
	}
	if f.Phone = strings.TrimSpace(f.Phone); f.Phone != "" && !phoneNumber(f.Phone) {
		errs["phone"] = "That doesn't look like a phone number: use digits, spaces and + - ( ) only."
	}
	f.Message = strings.TrimSpace(strings.ReplaceAll(f.Message, "\r\n", "\n"))
	switch n := utf8.RuneCountInString(f.Message); {
	case n == 0:
		errs["message"] = "Please write a few words about what brings you here."
	case n > maxMessage:
		errs["message"] = "Please shorten your message to 10,000 characters or fewer."
	case strings.ContainsRune(f.Message, 0):
		errs["message"] = "The message contains characters we cannot keep."
	}
	if utf8.RuneCountInString(f.PreferredTime) > maxPreferredTime {
		errs["preferred_time"] = "Please keep this to a short line."
	}
	f.PreferredTime = store.CleanName(f.PreferredTime)
	if f.TimeZone = strings.TrimSpace(f.TimeZone); f.TimeZone != "" && !knownZone(f.TimeZone) {
		errs["time_zone"] = "Unknown time zone."
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// knownZone reports whether name is an IANA time zone this machine knows.
// "Local" is refused: it names the server's zone, not the person's.
func knownZone(name string) bool {
	if len(name) > maxTimeZone || name == "Local" {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// phoneNumber reports whether s reads as a phone number as people type
// them: digits and the usual separators, an extension, at least 3 digits.
func phoneNumber(s string) bool {
	if len(s) > maxPhone {
		return false
	}
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case strings.ContainsRune(" +-().x/#", c), c == 'e' || c == 't' || c == 'X' || c == 'E' || c == 'T':
		default:
			return false
		}
	}
	return digits >= 3
}
