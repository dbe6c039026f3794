package feeds

import (
	"bytes"
	"unicode/utf8"
)

// cutMark ends a text that shortenDocument cut short, so that the item it
// belongs to knows it is incomplete (limitRaw). It is made of characters
// that are valid in XML and JSON text and need no escaping, two of them
// from Unicode's private use area, so no feed writes it.
const cutMark = "\uE000practicemail:cut\uE000"

// shortenDocument cuts every text of a feed document longer than limit
// bytes (an item's HTML, escaped or in CDATA, or a JSON string) down to
// about limit bytes, ending it with cutMark. gofeed holds several copies of
// each text and parses an item's HTML whole to look for an image, so one
// huge item would otherwise cost many times its size in memory. A document
// with no such text is returned as it is.
func shortenDocument(doc []byte, limit int) []byte {
	if len(doc) <= limit {
		return doc
	}
	if t := trimPreamble(doc); len(t) > 0 && t[0] == '{' {
		return shortenJSON(doc, limit)
	}
	return shortenXML(doc, limit)
}

// shortenXML cuts long character data and CDATA sections. It skips tags
// (with quoted attribute values), comments, processing instructions and
// declarations, so only text is ever cut.
func shortenXML(doc []byte, limit int) []byte {
	var out []byte // nil until something is cut
	done := 0      // doc[:done] is in out
	for i := 0; i < len(doc); {
		switch {
		case bytes.HasPrefix(doc[i:], []byte("<![CDATA[")):
			start := i + len("<![CDATA[")
			end := indexFrom(doc, start, "]]>")
			if end-start > limit {
				out = append(out, doc[done:start+runeStart(doc[start:], limit)]...)
				out = append(out, cutMark...)
				done = end
			}
			i = end + len("]]>")
		case bytes.HasPrefix(doc[i:], []byte("<!--")):
			i = indexFrom(doc, i, "-->") + len("-->")
		case bytes.HasPrefix(doc[i:], []byte("<?")):
			i = indexFrom(doc, i, "?>") + len("?>")
		case doc[i] == '<':
			i = tagEnd(doc, i)
		default:
			end := indexFrom(doc, i, "<")
			if end-i > limit {
				out = append(out, doc[done:i+entityStart(doc[i:], limit)]...)
				out = append(out, cutMark...)
				done = end
			}
			i = end
		}
	}
	if out == nil {
		return doc
	}
	return append(out, doc[done:]...)
}

// shortenJSON cuts long strings, between their quotes, never inside an
// escape sequence.
func shortenJSON(doc []byte, limit int) []byte {
	var out []byte
	done := 0
	for i := 0; i < len(doc); i++ {
		if doc[i] != '"' {
			continue
		}
		start, cut := i+1, -1
		for i = start; i < len(doc) && doc[i] != '"'; i++ {
			if cut < 0 && i-start >= limit {
				cut = start + runeStart(doc[start:], i-start)
			}
			switch {
			case doc[i] != '\\':
			case i+1 < len(doc) && doc[i+1] == 'u':
				i += 5
			default:
				i++
			}
		}
		if cut >= 0 {
			out = append(out, doc[done:cut]...)
			out = append(out, cutMark...)
			done = min(i, len(doc))
		}
	}
	if out == nil {
		return doc
	}
	return append(out, doc[done:]...)
}

// indexFrom is the index of sep in doc at or after from, or len(doc).
func indexFrom(doc []byte, from int, sep string) int {
	if i := bytes.Index(doc[from:], []byte(sep)); i >= 0 {
		return from + i
	}
	return len(doc)
}

// tagEnd is the index just past the tag starting at doc[i], honouring
// quoted attribute values, which may hold '>'.
func tagEnd(doc []byte, i int) int {
	var quote byte
	for i++; i < len(doc); i++ {
		switch c := doc[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return len(doc)
}

// runeStart moves n back to the start of a UTF-8 sequence in b, by at most
// three bytes (a document in a single-byte encoding just loses a little
// more).
func runeStart(b []byte, n int) int {
	for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(b[n]); k++ {
		n--
	}
	return n
}

// entityStart is runeStart that also moves back before a character
// reference ("&amp;", "&#8217;") that n would split.
func entityStart(b []byte, n int) int {
	n = runeStart(b, n)
	if amp := bytes.LastIndexByte(b[max(0, n-32):n], '&'); amp >= 0 {
		amp += max(0, n-32)
		if bytes.IndexByte(b[amp:n], ';') < 0 {
			return amp
		}
	}
	return n
}
