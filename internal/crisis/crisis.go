// Package crisis tells whether an inquiry's message sounds like its writer
// may be in danger, so that the practice's notification is marked URGENT
// and read first.
//
// The trade-off is deliberate: a false positive costs the therapist one
// needless "URGENT:" in a subject line; a miss leaves someone in crisis
// waiting in the queue. So the phrases are broad ("overdose" alone is
// enough, even in a question about medication), matching tolerates case,
// punctuation, curly quotes, spacing and common misspellings, and anything
// doubtful counts as urgent. What it does not do is guess at tone: "killing
// it at work", "dying to know" and "my dog died" name no danger to the
// writer and are not urgent.
//
// Nothing here may be logged: the message, and which phrase matched, are
// the person's private words. Urgent says only yes or no.
package crisis

import (
	"errors"
	"fmt"
	"strings"
)

// Classifier decides whether a message is urgent. It is safe for
// concurrent use.
type Classifier struct {
	phrases []phrase
}

// New returns a Classifier for the default phrases plus extra, the
// configured inquiries.crisis_words. Each extra phrase is matched as whole
// words in order, ignoring case, accents and punctuation; it is refused if
// it has no words.
func New(extra []string) (*Classifier, error) {
	c := &Classifier{}
	for _, p := range defaults {
		c.phrases = append(c.phrases, compile(p, true))
	}
	var errs []error
	for i, p := range extra {
		ph := compile(p, false)
		if len(ph.words) == 0 {
			errs = append(errs, fmt.Errorf("crisis word %d: has no letters or digits", i+1))
			continue
		}
		c.phrases = append(c.phrases, ph)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Urgent reports whether message contains crisis language.
func (c *Classifier) Urgent(message string) bool {
	_, ok := c.match(message)
	return ok
}

// match returns the phrase found, for tests; callers outside this package
// get only Urgent, so the phrase can never reach a log line.
func (c *Classifier) match(message string) (string, bool) {
	tokens := words(message)
	for i := range tokens {
		for _, p := range c.phrases {
			if p.matchAt(tokens, i) {
				return p.source, true
			}
		}
	}
	return "", false
}

// phrase is a compiled phrase: a run of words, each a set of accepted
// spellings.
type phrase struct {
	source string
	words  []word
}

type word struct {
	alts  []string
	fuzzy bool // also accept one typo
	not   bool // the next token must not be one of alts; consumes nothing
}

// compile reads a phrase. In the defaults (pattern true) a word may list
// alternatives with "|", mark a spelling with "~" to accept one typo in any of them, or start with "!"
// to refuse what follows; extras are literal.
func compile(s string, pattern bool) phrase {
	p := phrase{source: s}
	if !pattern {
		for _, w := range words(s) {
			p.words = append(p.words, word{alts: []string{w}})
		}
		return p
	}
	for f := range strings.FieldsSeq(s) {
		var w word
		if strings.HasPrefix(f, "!") {
			w.not = true
			f = strings.TrimPrefix(f, "!")
		}
		if strings.Contains(f, "~") {
			w.fuzzy = true
			f = strings.ReplaceAll(f, "~", "")
		}
		w.alts = strings.Split(f, "|")
		p.words = append(p.words, w)
	}
	return p
}

// matchAt reports whether p starts at tokens[i].
func (p phrase) matchAt(tokens []string, i int) bool {
	return p.matchFrom(tokens, i, 0)
}

// matchFrom matches p.words[j:] at tokens[i:]. A word may match one token,
// or two tokens run together ("can not" for "cannot", "can t" for "cant",
// "my self" for "myself").
func (p phrase) matchFrom(tokens []string, i, j int) bool {
	if j == len(p.words) {
		return true
	}
	w := p.words[j]
	if w.not {
		return (i >= len(tokens) || !w.accepts(tokens[i])) && p.matchFrom(tokens, i, j+1)
	}
	if i >= len(tokens) {
		return false
	}
	if w.accepts(tokens[i]) && p.matchFrom(tokens, i+1, j+1) {
		return true
	}
	return i+1 < len(tokens) && w.accepts(tokens[i]+tokens[i+1]) && p.matchFrom(tokens, i+2, j+1)
}
