package feeds

import (
	"bytes"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// xmlEncoding finds the encoding named in an XML declaration.
var xmlEncoding = regexp.MustCompile(`\A\x{FEFF}?\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']`)

// toUTF8 returns the document as UTF-8 whenever it can tell the document
// is in another encoding that gofeed would not convert by itself:
//
//   - UTF-16, with or without a byte order mark (gofeed cannot even find
//     the root element), whatever the HTTP charset says;
//   - a document that declares no encoding, or UTF-8, but is not valid
//     UTF-8: decoded with headerCharset (the HTTP Content-Type charset,
//     which servers often give instead of an XML declaration), else as
//     Windows-1252, the usual truth behind such feeds; a document that is
//     mostly UTF-8 with a few stray bytes only has those bytes replaced;
//   - a document that declares a single-byte encoding but is plainly UTF-8
//     (a generator's template copied from elsewhere): its declaration is
//     corrected so gofeed does not garble every accented letter.
//
// A document whose declared encoding is right is returned unchanged; gofeed
// converts it.
func toUTF8(body []byte, headerCharset string) []byte {
	if enc, n := utf16Encoding(body); enc != nil {
		if out, err := enc.NewDecoder().Bytes(body[n:]); err == nil {
			return setDeclaredUTF8(out)
		}
		return body
	}
	declared := declaredEncoding(body)
	if declared != "" && !isUTF8Label(declared) {
		if utf8.Valid(body) && hasMultibyte(body) {
			return setDeclaredUTF8(body)
		}
		return body
	}
	if utf8.Valid(body) {
		return body
	}
	if enc := headerEncoding(headerCharset); enc != nil {
		if out, err := enc.NewDecoder().Bytes(body); err == nil {
			return out
		}
	}
	if hasMultibyte(body) {
		return bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(body)
	if err != nil {
		return body
	}
	return out
}

// utf16Encoding recognises UTF-16 by its byte order mark, or by the zero
// byte beside the ASCII character that starts every XML or JSON document
// (UTF-8 text never holds a zero byte). It returns the decoder and the
// length of the mark to skip. An HTTP charset of UTF-16 alone is not
// trusted: if the body has no zero bytes, the header is wrong.
func utf16Encoding(body []byte) (encoding.Encoding, int) {
	switch {
	case len(body) < 2:
		return nil, 0
	case body[0] == 0xFF && body[1] == 0xFE && !bytes.HasPrefix(body, []byte{0xFF, 0xFE, 0, 0}):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), 2
	case body[0] == 0xFE && body[1] == 0xFF:
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), 2
	case body[0] != 0 && body[0] < 0x80 && body[1] == 0:
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), 0
	case body[0] == 0 && body[1] != 0 && body[1] < 0x80:
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), 0
	}
	return nil, 0
}

func declaredEncoding(body []byte) string {
	m := xmlEncoding.FindSubmatch(body[:min(len(body), 512)])
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[1]))
}

// setDeclaredUTF8 makes an XML declaration, if any, say UTF-8, so gofeed
// does not convert the already converted document a second time.
func setDeclaredUTF8(body []byte) []byte {
	loc := xmlEncoding.FindSubmatchIndex(body[:min(len(body), 512)])
	if loc == nil {
		return body
	}
	out := make([]byte, 0, len(body))
	out = append(out, body[:loc[2]]...)
	out = append(out, "UTF-8"...)
	return append(out, body[loc[3]:]...)
}

func isUTF8Label(label string) bool {
	l := strings.ToLower(label)
	return l == "utf-8" || l == "utf8"
}

// headerEncoding finds the decoder for an HTTP charset label, ignoring
// labels that are unknown or name UTF-8 or UTF-16, which the body has
// already been found not to be.
func headerEncoding(label string) encoding.Encoding {
	label = strings.TrimSpace(label)
	if label == "" || isUTF8Label(label) {
		return nil
	}
	enc, name := charset.Lookup(label)
	if enc == nil || name == "utf-8" || strings.HasPrefix(name, "utf-16") {
		return nil
	}
	return enc
}

// hasMultibyte reports whether body holds at least one valid multi-byte
// UTF-8 sequence: text in a single-byte encoding almost never does.
func hasMultibyte(body []byte) bool {
	for len(body) > 0 {
		r, size := utf8.DecodeRune(body)
		if size > 1 && r != utf8.RuneError {
			return true
		}
		body = body[size:]
	}
	return false
}

// headerCharset returns the charset parameter of a Content-Type header.
func headerCharset(contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return params["charset"]
}
