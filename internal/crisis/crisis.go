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
	"slices"
	"strings"
)

// Classifier decides whether a message is urgent. It is safe for
// concurrent use.
type Classifier struct {
	phrases []phrase
	first   map[string][]int // a spelling of a first word -> phrases starting with it
	always  []int            // phrases whose first word is fuzzy: tried at every word
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
	c.index()
	return c, nil
}

// index lets match try, at each word of a message, only the phrases that
// can start there: a long message costs a few map lookups per word.
func (c *Classifier) index() {
	c.first = map[string][]int{}
	for i, p := range c.phrases {
		w := p.words[0]
		if len(w.fuzzy) > 0 || w.not {
			c.always = append(c.always, i)
			continue
		}
		for _, set := range []map[string]bool{w.exact, w.squeezed} {
			for k := range set {
				if !slices.Contains(c.first[k], i) {
					c.first[k] = append(c.first[k], i)
				}
			}
		}
	}
}

// Urgent reports whether message contains crisis language.
func (c *Classifier) Urgent(message string) bool {
	_, ok := c.match(message)
	return ok
}

// match returns the phrase found, for tests; callers outside this package
// get only Urgent, so the phrase can never reach a log line.
func (c *Classifier) match(message string) (string, bool) {
	m := newText(message)
	try := make([]bool, len(c.phrases))
	for i := range m.tok {
		clear(try)
		for _, k := range c.always {
			try[k] = true
		}
		for _, key := range []string{m.tok[i], m.sq[i], m.join[i], m.sjoin[i]} {
			for _, k := range c.first[key] {
				try[k] = true
			}
		}
		for k, p := range c.phrases {
			if try[k] && p.matchFrom(m, i, 0) {
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
	exact    map[string]bool // the spellings
	squeezed map[string]bool // squeeze of the spellings of four letters or more
	fuzzy    []string        // spellings that also accept one typo
	not      bool            // the next token must not be accepted; consumes nothing
}

func newWord(alts []string, fuzzy, not bool) word {
	w := word{exact: map[string]bool{}, squeezed: map[string]bool{}, not: not}
	for _, a := range alts {
		w.exact[a] = true
		if len(a) >= 4 {
			w.squeezed[squeeze(a)] = true
		}
		if fuzzy {
			w.fuzzy = append(w.fuzzy, a)
		}
	}
	return w
}

// compile reads a phrase. In the defaults (pattern true) a word may list
// alternatives with "|", mark a spelling with "~" to accept one typo in any of them, or start with "!"
// to refuse what follows; extras are literal.
func compile(s string, pattern bool) phrase {
	p := phrase{source: s}
	if !pattern {
		for _, w := range words(s) {
			p.words = append(p.words, newWord([]string{w}, false, false))
		}
		return p
	}
	for f := range strings.FieldsSeq(s) {
		not := strings.HasPrefix(f, "!")
		fuzzy := strings.Contains(f, "~")
		f = strings.ReplaceAll(strings.TrimPrefix(f, "!"), "~", "")
		p.words = append(p.words, newWord(strings.Split(f, "|"), fuzzy, not))
	}
	return p
}

// matchFrom matches p.words[j:] at the message's tokens[i:]. A word may match one token,
// or two tokens run together ("can not" for "cannot", "can t" for "cant",
// "my self" for "myself").
func (p phrase) matchFrom(m *text, i, j int) bool {
	if j == len(p.words) {
		return true
	}
	w := p.words[j]
	n := len(m.tok)
	if w.not {
		return (i >= n || !w.accepts(m.tok[i], m.sq[i])) && p.matchFrom(m, i, j+1)
	}
	if i >= n {
		return false
	}
	if w.accepts(m.tok[i], m.sq[i]) && p.matchFrom(m, i+1, j+1) {
		return true
	}
	return i+1 < n && w.accepts(m.join[i], m.sjoin[i]) && p.matchFrom(m, i+2, j+1)
}
