package crisis

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// fold returns a transformer that removes accents and compatibility forms
// (full-width letters, ligatures). A chain keeps state between calls, so
// each call gets its own: one shared chain raced between requests.
func fold() transform.Transformer {
	return transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}

// words splits s into lower-case words of letters and digits. Everything
// else, apostrophes and curly quotes included, separates words: "can't"
// and "can’t" become "can t", which a phrase word "cant" accepts by joining
// the two tokens.
func words(s string) []string {
	if f, _, err := transform.String(fold(), s); err == nil {
		s = f
	}
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// text is a message split into words, with what matching needs computed
// once: each word squeezed, and each word run together with the next.
type text struct {
	tok, sq     []string
	join, sjoin []string // join[i] is tok[i]+tok[i+1]
}

func newText(s string) *text {
	t := &text{tok: words(s)}
	t.sq = make([]string, len(t.tok))
	t.join = make([]string, len(t.tok))
	t.sjoin = make([]string, len(t.tok))
	for i, w := range t.tok {
		t.sq[i] = squeeze(w)
		if i+1 < len(t.tok) {
			t.join[i] = w + t.tok[i+1]
			t.sjoin[i] = squeeze(t.join[i])
		}
	}
	return t
}

// accepts reports whether token (sq is its squeeze) is one of w's
// spellings: exactly, with letters drawn out or doubled differently ("kil",
// "killl" for "kill", for words of four letters or more), or, for a fuzzy
// word, with one typo (a letter missing, added, changed or two swapped).
func (w word) accepts(token, sq string) bool {
	if w.exact[token] || w.squeezed[sq] {
		return true
	}
	if len(token) < 4 {
		return false
	}
	for _, a := range w.fuzzy {
		if oneTypo(token, a) {
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

// oneTypo reports whether a and b differ by at most one typo: a letter
// missing, added or changed, or two neighbours swapped. It compares bytes,
// which is exact for the ASCII phrases it is used with.
func oneTypo(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a)-len(b) > 1 {
		return false
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(b) {
		return true // equal, or a has one letter more at the end
	}
	if len(a) > len(b) {
		return a[i+1:] == b[i:]
	}
	if a[i+1:] == b[i+1:] {
		return true
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}
