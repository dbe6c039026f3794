package mail

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// locate finds every placeholder occurrence in the encoded template.
//
// Placeholder characters are printable ASCII that quoted-printable copies
// unchanged, one byte each, so a value of the same length encodes to the same
// bytes at the same places, line breaks included. A soft line break ("=\r\n")
// may fall inside a placeholder, though; the search therefore runs on the
// body with soft breaks removed and maps positions back, splitting such an
// occurrence into two runs. Every occurrence in the source must be found
// exactly once, which also rules out matches that straddle an escape.
func locate(tmpl []byte, placeholders []string, c Content) ([]sub, error) {
	view, pos := stripSoftBreaks(tmpl)
	var subs []sub
	for i, ph := range placeholders {
		want := strings.Count(c.Text, ph) + strings.Count(c.HTML, ph)
		for _, v := range c.Headers {
			want += strings.Count(v, ph)
		}
		got := 0
		for start := 0; ; {
			j := bytes.Index(view[start:], []byte(ph))
			if j < 0 {
				break
			}
			got++
			subs = appendRuns(subs, pos, start+j, i, len(ph))
			start += j + len(ph)
		}
		if got != want {
			return nil, fmt.Errorf("placeholder %q: %d in the content, %d in the encoded message", ph, want, got)
		}
	}
	slices.SortFunc(subs, func(a, b sub) int { return a.off - b.off })
	for k := 1; k < len(subs); k++ {
		prev := subs[k-1]
		if prev.off+prev.to-prev.from > subs[k].off {
			return nil, fmt.Errorf("placeholders %q and %q overlap", placeholders[prev.ph], placeholders[subs[k].ph])
		}
	}
	return subs, nil
}

// stripSoftBreaks returns the template with quoted-printable soft line breaks
// removed from the body, and for each byte of that view its offset in tmpl.
func stripSoftBreaks(tmpl []byte) ([]byte, []int) {
	view := make([]byte, 0, len(tmpl))
	pos := make([]int, 0, len(tmpl))
	bodyStart := bytes.Index(tmpl, []byte("\r\n\r\n"))
	for i := 0; i < len(tmpl); i++ {
		if i > bodyStart && bytes.HasPrefix(tmpl[i:], []byte("=\r\n")) {
			i += 2
			continue
		}
		view = append(view, tmpl[i])
		pos = append(pos, i)
	}
	return view, pos
}

// appendRuns adds the runs of one occurrence that starts at view offset v.
func appendRuns(subs []sub, pos []int, v, ph, n int) []sub {
	from := 0
	for k := 1; k <= n; k++ {
		if k == n || pos[v+k] != pos[v+k-1]+1 {
			subs = append(subs, sub{off: pos[v+from], ph: ph, from: from, to: k})
			from = k
		}
	}
	return subs
}
