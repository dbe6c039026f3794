package web

import (
	"strings"

	"golang.org/x/net/idna"

	"github.com/practicemail/practicemail/internal/store"
)

// Limits of an address (RFC 5321 4.5.3.1): 64 octets for the local part,
// 254 for the whole address as it can appear in a path.
const (
	maxLocal   = 64
	maxAddress = 254
)

// idnaProfile turns an internationalised domain into its ASCII (punycode)
// form with the rules a registrar applies.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.StrictDomainName(true), idna.Transitional(false))

// checkAddress returns the address the person typed as the mailbox we will
// write to: a bare addr-spec with a dot-atom local part (no quotes, no
// comments, no display name, no second address), its domain in ASCII,
// lower-cased. It refuses anything that could become a second header or a
// second recipient.
func checkAddress(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "Please enter your email address."
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", "That doesn't look like an email address: it needs a name, an @ and a domain, like ann@example.com."
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > maxLocal || !dotAtom(local) {
		return "", "The part before the @ has characters an email address cannot have."
	}
	ascii, err := idnaProfile.ToASCII(strings.TrimSuffix(domain, "."))
	if err != nil || !hostname(ascii) {
		return "", "The part after the @ is not a domain we can send to."
	}
	addr := strings.ToLower(local + "@" + ascii)
	if len(addr) > maxAddress {
		return "", "That address is longer than email allows."
	}
	if _, err := store.NormalizeEmail(addr); err != nil {
		return "", "That doesn't look like an email address."
	}
	return addr, ""
}

// dotAtom reports whether s is an RFC 5322 dot-atom of ASCII atext.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+/=?^_`{|}~-.", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// hostname reports whether s is an ASCII domain of at least two labels,
// each 1-63 letters, digits or inner hyphens, with a top-level label that
// is not all digits (an IP address is not a mail domain here).
func hostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i] | 0x20
			if !(c >= 'a' && c <= 'z' || l[i] >= '0' && l[i] <= '9' || l[i] == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.Trim(tld, "0123456789") != ""
}
