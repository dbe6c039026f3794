package store

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
)

// maxNameRunes is the longest name kept: a name goes into a To header and a
// greeting, and a pasted paragraph is not a name.
const maxNameRunes = 200

// CleanName returns a name that is safe in an email header and on one line of
// a terminal: C0 and C1 control characters and Unicode format characters
// (bidirectional overrides such as U+202E, zero-width joiners) are removed,
// every run of white space (CR, LF, tabs, U+2028 included) becomes one space,
// and the result is trimmed and cut to 200 characters. A CR/LF in a name once
// made every send to that person fail.
func CleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == unicode.ReplacementChar:
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxNameRunes {
		s = strings.TrimSpace(string(r[:maxNameRunes]))
	}
	return s
}

// SplitAddress reads an address as a person types or a mail program copies
// it: "jane@example.com", or RFC 5322's "Jane Doe <jane@example.com>". It
// returns the name (cleaned, possibly empty) and the normalised address.
func SplitAddress(s string) (name, email string, err error) {
	email, err = NormalizeEmail(s)
	if err != nil {
		return "", "", err
	}
	if a, err := mail.ParseAddress(strings.TrimSpace(s)); err == nil {
		name = CleanName(a.Name)
	}
	return name, email, nil
}

// Topics are the topics a subscriber can follow, in the order shown to people.
var Topics = []string{TopicPosts, TopicNews}

// Statuses are the subscriber statuses, in the order shown to people.
var Statuses = []string{StatusActive, StatusPending, StatusUnsubscribed, StatusBounced, StatusComplained}

// CheckTopics returns an error naming the first topic that is not one of
// Topics, with the choices. A topic nobody sends to would silently give its
// follower nothing.
func CheckTopics(topics []string) error {
	for _, t := range topics {
		if !contains(Topics, t) {
			return unknown("topic", t, Topics)
		}
	}
	return nil
}

// CheckStatus returns an error when status is neither empty nor one of Statuses.
func CheckStatus(status string) error {
	if status != "" && !contains(Statuses, status) {
		return unknown("status", status, Statuses)
	}
	return nil
}

func unknown(what, v string, choices []string) error {
	return fmt.Errorf("unknown %s %q: choose from %s", what, v, strings.Join(choices, ", "))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Suppressed reports whether status keeps a person from ever being mailed
// again without their own new consent.
func Suppressed(status string) bool {
	switch status {
	case StatusUnsubscribed, StatusBounced, StatusComplained:
		return true
	}
	return false
}
