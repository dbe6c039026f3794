package crisis

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// fold removes accents and compatibility forms (full-width letters,
// ligatures).
var fold = transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// words splits s into lower-case words of letters and digits. Everything
// else, apostrophes and curly quotes included, separates words: "can't"
// and "can’t" become "can t", which a phrase word "cant" accepts by joining
// the two tokens.
func words(s string) []string {
	if f, _, err := transform.String(fold, s); err == nil {
		s = f
	}
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// accepts reports whether token is one of w's spellings: exactly, with
// letters drawn out or doubled differently ("kil", "killl" for "kill",
// for words of four letters or more), or, for a fuzzy word, with one
// typo (a letter missing, added, changed or two swapped).
func (w word) accepts(token string) bool {
	for _, a := range w.alts {
		if token == a {
			return true
		}
		if len(a) >= 4 && squeeze(token) == squeeze(a) {
			return true
		}
		if w.fuzzy && len(token) >= 4 && osa(token, a) <= 1 {
			return true
		}
	}
	return false
}

// squeeze collapses runs of the same letter into one.
func squeeze(s string) string {
	var b strings.Builder
	var last rune = -1
	for _, r := range s {
		if r != last {
			b.WriteRune(r)
		}
		last = r
	}
	return b.String()
}

// osa is the optimal string alignment distance between a and b: the
// number of single-letter insertions, deletions, substitutions and swaps
// of neighbours that turn one into the other.
func osa(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
