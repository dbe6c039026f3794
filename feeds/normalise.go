package feeds

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
	jsonfeed "github.com/mmcdole/gofeed/json"
)

// normaliseFeed turns gofeed's result into our Feed, one item per Key.
func normaliseFeed(gf *gofeed.Feed, baseURL string) *Feed {
	base, _ := url.Parse(strings.TrimSpace(baseURL))
	if base != nil && !base.IsAbs() {
		base = nil
	}
	f := &Feed{
		Title:    titleText(gf.Title),
		Link:     absoluteURL(base, gf.Link),
		Language: strings.TrimSpace(gf.Language),
	}
	if gf.Image != nil {
		f.ImageURL = absoluteURL(base, gf.Image.URL)
	}
	feedBase := base
	if f.Link != "" {
		feedBase, _ = url.Parse(f.Link)
	}
	textual := plainTextContent(gf)
	author := firstAuthor(gf.Authors, gf.Author)
	seen := make(map[string]bool, len(gf.Items))
	for i, gi := range gf.Items {
		if gi == nil {
			continue
		}
		it := normaliseItem(gi, feedBase, i < len(textual) && textual[i])
		if it.Author == "" {
			it.Author = author // Atom and JSON Feed entries inherit the feed's author
		}
		if seen[it.Key] {
			continue
		}
		seen[it.Key] = true
		f.Items = append(f.Items, it)
	}
	return f
}

// normaliseItem builds one Item; feedBase may be nil when nothing absolute
// is known, in which case relative URLs are dropped.
func normaliseItem(gi *gofeed.Item, feedBase *url.URL, contentIsText bool) Item {
	it := Item{
		GUID:   strings.TrimSpace(gi.GUID),
		Title:  titleText(gi.Title),
		Author: firstAuthor(gi.Authors, gi.Author),
	}
	it.URL = itemURL(gi, feedBase, it.GUID)
	itemBase := feedBase
	if it.URL != "" {
		itemBase, _ = url.Parse(it.URL)
	}

	content, images := itemContent(gi, itemBase, contentIsText, firstNonEmpty(it.URL, blogURL(feedBase)))
	it.Content = withAttachments(content, gi, itemBase, images, it.Title != "")

	if it.Summary = summarise(withoutAppearedFirst(plainText(gi.Description))); it.Summary == "" {
		it.Summary = summarise(plainText(it.Content))
	}
	it.ImageURL = itemImage(gi, itemBase, images)
	it.Published = itemPublished(gi)
	it.Hash = contentHash(it.Title, it.Content)
	switch {
	case it.GUID != "":
		it.Key = "guid:" + it.GUID
	case it.URL != "":
		it.Key = "url:" + it.URL
	default:
		it.Key = "hash:" + it.Hash
	}
	return it
}

// itemContent is the item's HTML, sanitised and at most MaxContentBytes
// long (plus a link to postURL for the rest), and the rewriter that knows
// its images.
func itemContent(gi *gofeed.Item, base *url.URL, isText bool, postURL string) (string, *rewriter) {
	raw := gi.Content
	if strings.TrimSpace(raw) == "" {
		raw = gi.Description
	}
	raw, cut := strings.CutSuffix(strings.TrimRight(raw, " \t\r\n"), cutMark)
	if isText {
		if i := strings.LastIndex(raw, "\n\n"); cut && i > 0 {
			raw = raw[:i] // the paragraph shortenDocument cut into
		}
		raw = textToHTML(raw)
	}
	raw, cut = limitRaw(raw, cut)
	content, rw := sanitizeHTML(stripXHTMLPrefix(raw), base)
	return limitContent(content, cut, postURL), rw
}

func blogURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.String()
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// contentHash is the hash Item.Hash and hash keys use.
func contentHash(title, content string) string {
	sum := sha256.Sum256([]byte(title + "\x00" + content))
	return hex.EncodeToString(sum[:])
}

// itemURL is the item's absolute link. An RSS guid that is itself an http
// URL is a permalink (isPermaLink defaults to true), so it stands in for a
// missing <link>.
func itemURL(gi *gofeed.Item, base *url.URL, guid string) string {
	candidates := append([]string{gi.Link}, gi.Links...)
	for _, c := range candidates {
		if u := absoluteURL(base, c); u != "" {
			return u
		}
	}
	if strings.HasPrefix(guid, "http://") || strings.HasPrefix(guid, "https://") {
		return absoluteURL(nil, guid)
	}
	return ""
}

// firstAuthor is the first author with a name, as plain text: from the
// list, else the single author.
func firstAuthor(authors []*gofeed.Person, author *gofeed.Person) string {
	for _, p := range authors {
		if p != nil {
			if name := titleText(p.Name); name != "" {
				return name
			}
		}
	}
	if author != nil {
		return titleText(author.Name)
	}
	return ""
}

// xhtmlPrefix finds the prefix an Atom type="xhtml" content binds to the
// XHTML namespace, as in <xhtml:div xmlns:xhtml="http://www.w3.org/1999/xhtml">.
var xhtmlPrefix = regexp.MustCompile(`xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']http://www\.w3\.org/1999/xhtml["']`)

// stripXHTMLPrefix turns <xhtml:p> into <p>, so the HTML parser and the
// sanitiser see the elements they know rather than unknown ones they would
// strip to bare text.
func stripXHTMLPrefix(s string) string {
	m := xhtmlPrefix.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	return strings.NewReplacer("<"+m[1]+":", "<", "</"+m[1]+":", "</").Replace(s)
}

// plainTextContent reports, per item, whether its content is plain text
// rather than HTML: JSON Feed content_text (or a summary standing in for
// it), or Atom content declared type="text". Everything else is HTML.
func plainTextContent(gf *gofeed.Feed) []bool {
	var flags []bool
	switch orig := gf.OriginalFeed().(type) {
	case *jsonfeed.Feed:
		for _, ji := range orig.Items {
			flags = append(flags, ji != nil && strings.TrimSpace(ji.ContentHTML) == "")
		}
	case *atom.Feed:
		for _, e := range orig.Entries {
			flags = append(flags, e != nil && e.Content != nil && isTextType(e.Content.Type))
		}
	}
	if len(flags) != len(gf.Items) {
		return nil // cannot pair them up safely; treat all as HTML
	}
	return flags
}

func isTextType(t string) bool {
	t = strings.ToLower(strings.TrimSpace(t))
	return t == "text" || t == "text/plain"
}

// absoluteURL resolves ref against base and returns it only if the result
// is an absolute http(s) URL; anything else (javascript:, data:, a relative
// URL with no base) is "".
func absoluteURL(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	switch {
	case u.IsAbs():
	case base != nil:
		u = base.ResolveReference(u)
	case strings.HasPrefix(ref, "//"):
		u.Scheme = "https" // protocol-relative with nothing to inherit from
	default:
		return ""
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}
