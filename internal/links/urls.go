package links

import "strings"

// UnsubscribeURL returns base + "/unsubscribe/" + a fresh Unsubscribe token.
func (s *Signer) UnsubscribeURL(subscriberID int64) string {
	return s.URL(Unsubscribe, s.Token(Unsubscribe, subscriberID))
}

// PreferencesURL returns base + "/preferences/" + a fresh Preferences token.
func (s *Signer) PreferencesURL(subscriberID int64) string {
	return s.URL(Preferences, s.Token(Preferences, subscriberID))
}

// ConfirmURL returns base + "/confirm/" + a fresh Confirm token.
func (s *Signer) ConfirmURL(subscriberID int64) string {
	return s.URL(Confirm, s.Token(Confirm, subscriberID))
}

// StopSequenceURL returns base + "/unsubscribe/" + a fresh StopSequence
// token for contactID.
func (s *Signer) StopSequenceURL(contactID int64) string {
	return s.URL(StopSequence, s.Token(StopSequence, contactID))
}

// URL returns the public URL for purpose p carrying token. Passing
// Placeholder(p) gives the URL the mail path renders once and then
// personalises per recipient by replacing the placeholder with a token.
func (s *Signer) URL(p Purpose, token string) string {
	return s.base + "/" + p.String() + "/" + token
}

// Placeholder returns a fixed string of exactly TokenLen URL-safe characters
// that stands in for a recipient's token of purpose p in content rendered
// once for many recipients. Each purpose has its own placeholder, and none
// is a valid token. It panics if p is not one of the declared purposes.
func Placeholder(p Purpose) string {
	if !p.valid() {
		panic("links: Placeholder called with " + p.String())
	}
	name := p.String()
	if p == StopSequence { // its path is "unsubscribe": its placeholder is its own
		name = "stopsequence"
	}
	prefix := "PRACTICEMAIL_" + strings.ToUpper(name) + "_TOKEN_"
	return prefix + strings.Repeat("x", TokenLen-len(prefix))
}
