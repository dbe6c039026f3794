package mail

import (
	"mime"
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// ListID returns a List-Id header value (RFC 2919) naming the list called
// list (such as "posts") of the site at baseURL, described by description:
// for "Stillpoint Counseling posts", "posts" and
// https://mail.stillpoint.example it is
// `"Stillpoint Counseling posts" <posts.mail.stillpoint.example>`. Mail
// clients and filters use it to tell one list from another. It is "" when
// baseURL has no host.
func ListID(description, list, baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	host, err := idna.Lookup.ToASCII(u.Hostname())
	if err != nil {
		host = u.Hostname()
	}
	id := dotAtom(list + "." + host)
	description = strings.Join(strings.FieldsFunc(description, func(r rune) bool { return r < ' ' || r == 0x7f || r == ' ' }), " ")
	if description == "" {
		return "<" + id + ">"
	}
	return phrase(description) + " <" + id + ">"
}

// dotAtom keeps the characters a list id may have (RFC 2919: a dot-atom of
// letters, digits and hyphens), lower case, and turns the rest (an IPv6
// address's colons) into hyphens.
func dotAtom(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '-', r == '.':
			return r
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}

// phrase is s as an RFC 5322 phrase: a quoted string when it is ASCII, an
// RFC 2047 encoded word when it is not.
func phrase(s string) string {
	for _, r := range s {
		if r > '~' {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
