package sequences

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// DefaultTerms are the conditions and treatments that subjects, preview
// text and sender names must never name. Those lines are read by whoever
// glances at the person's inbox or lock screen, so they must not say why
// the person wrote to a therapist.
//
// Grief and bereavement are on the list: they are not diagnoses, but a
// subject naming them tells an onlooker about the person's loss just as
// plainly, and refusing one costs the author only a rewording. Ordinary
// feelings ("sad", "numb", "tired") are not: naming a feeling in general
// discloses nothing about the reader, and the practice writes about them.
var DefaultTerms = []string{
	// treatments
	"ketamine", "esketamine", "spravato", "psilocybin", "MDMA", "psychedelic",
	"ayahuasca", "LSD", "ECT", "TMS", "antidepressant", "SSRI",
	// conditions and states
	"depression", "depressed", "depressive", "PTSD", "CPTSD", "trauma", "traumatic",
	"traumatized", "traumatised", "anxiety", "anxious", "panic", "panic attack",
	"suicide", "suicidal", "self-harm", "self-injury", "overdose", "addiction",
	"addicted", "alcoholism", "substance use", "bipolar", "OCD", "ADHD",
	"schizophrenia", "psychosis", "eating disorder", "anorexia", "bulimia",
	"insomnia", "grief", "grieving", "bereavement", "dissociation",
	"therapy-resistant", "treatment-resistant", "TRD", "mental illness",
}

// Screen finds named conditions and treatments in short lines of text.
// Terms match as whole words, ignoring case, accents, punctuation and
// hyphens ("Self-Harm", "self harm" and "selfharm" all match "self-harm"),
// and a term also matches its plural ("psychedelics").
type Screen struct {
	terms []screenTerm
}

type screenTerm struct {
	name  string   // as given, for messages
	words []string // normalised
}

// NewScreen returns a Screen for terms; DefaultScreen uses DefaultTerms.
func NewScreen(terms []string) *Screen {
	s := &Screen{}
	for _, t := range terms {
		if w := words(t); len(w) > 0 {
			s.terms = append(s.terms, screenTerm{name: t, words: w})
		}
	}
	return s
}

// DefaultScreen returns a Screen for DefaultTerms.
func DefaultScreen() *Screen { return NewScreen(DefaultTerms) }

// Find returns the first term named in text, and whether there was one.
func (s *Screen) Find(text string) (string, bool) {
	w := words(text)
	for i := range w {
		for _, t := range s.terms {
			if t.matchAt(w, i) {
				return t.name, true
			}
		}
	}
	return "", false
}

// matchAt reports whether t's words start at w[i], or, for a term of
// several words, whether w[i] is all of them run together.
func (t screenTerm) matchAt(w []string, i int) bool {
	if len(t.words) > 1 && plural(w[i], strings.Join(t.words, "")) {
		return true
	}
	if i+len(t.words) > len(w) {
		return false
	}
	last := len(t.words) - 1
	for j, tw := range t.words {
		if w[i+j] != tw && (j != last || !plural(w[i+j], tw)) {
			return false
		}
	}
	return true
}

// plural reports whether word is term or term's plural.
func plural(word, term string) bool {
	return word == term || word == term+"s" || word == term+"es"
}

// fold removes accents and compatibility forms (full-width letters), so
// that "kétamine" and "ｋｅｔａｍｉｎｅ" are read as "ketamine".
var fold = transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// words splits s into lower-case words of letters and digits; everything
// else separates words.
func words(s string) []string {
	if f, _, err := transform.String(fold, s); err == nil {
		s = f
	}
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}
