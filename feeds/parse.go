package feeds

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/mmcdole/gofeed"
	jsonfeed "github.com/mmcdole/gofeed/json"
)

var (
	// ErrNotFeed means the document is not RSS, Atom or JSON Feed at all,
	// typically a web page given instead of its feed.
	ErrNotFeed = errors.New("not a feed")
	// ErrMalformed means the document looks like a feed but is cut short or
	// garbled.
	ErrMalformed = errors.New("broken feed")
)

// sniffSize is how far into a document Parse looks for a feed's start or an
// HTML page's markers.
const sniffSize = 4096

// Feed is a parsed, normalised feed.
type Feed struct {
	Title    string // plain text
	Link     string // absolute URL of the blog, or empty
	Language string
	ImageURL string // absolute URL of the feed's logo or icon, or empty
	Items    []Item // document order (usually newest first), one per Key
}

// Item is one normalised post.
type Item struct {
	// Key is the item's identity, stable within its feed: "guid:"+GUID,
	// else "url:"+URL, else "hash:"+Hash.
	Key       string
	GUID      string
	URL       string    // absolute http(s) URL, or empty
	Title     string    // plain text; may be empty (e.g. Micro.blog notes)
	Author    string    // plain text name, or empty
	Content   string    // sanitised HTML with absolute URLs
	Summary   string    // plain text, at most ~300 characters
	ImageURL  string    // absolute URL of the item's own image, or empty
	Published time.Time // UTC; published, else updated, else zero
	Hash      string    // sha256 hex of Title+"\x00"+Content: changes when the post is edited
}

// Parse parses an RSS, Atom or JSON Feed document and normalises its items.
// baseURL (normally FetchResult.URL) resolves relative links when the feed
// itself gives no absolute base. A document in UTF-16, or not in the
// encoding it declares, is converted first (see toUTF8). A feed with no
// items is valid. Errors wrap ErrNotFeed or ErrMalformed and read as one
// line.
func Parse(body []byte, baseURL string) (*Feed, error) {
	doc := shortenDocument(trimPreamble(toUTF8(body, "")), maxTextBytes)
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, fmt.Errorf("%w: the document is empty", ErrNotFeed)
	}
	gf, err := parseGofeed(doc)
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		if rest := skipJunk(doc); rest != nil {
			gf, err = parseGofeed(rest)
		}
	}
	if err != nil {
		return nil, describeParseError(doc, baseURL, err)
	}
	if err := checkJSONFeed(gf); err != nil {
		return nil, err
	}
	return normaliseFeed(gf, baseURL), nil
}

// parseGofeed runs gofeed, turning a panic on hostile input into an error:
// feeds come from strangers and one bad document must not take the worker
// down.
func parseGofeed(doc []byte) (gf *gofeed.Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			gf, err = nil, fmt.Errorf("feed parser failed: %v", r)
		}
	}()
	p := gofeed.NewParser()
	p.KeepOriginalFeed = true // to tell content_text from content_html, and Atom text from HTML
	return p.Parse(bytes.NewReader(doc))
}

// trimPreamble drops a UTF-8 byte order mark and blank lines before the
// document, both common in the wild.
func trimPreamble(body []byte) []byte {
	doc := bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	return bytes.TrimLeft(doc, " \t\r\n")
}

// skipJunk finds a feed that starts after stray output, such as the PHP
// warnings a broken WordPress plugin prints before <?xml. It returns nil
// when there is no such feed start near the top.
func skipJunk(doc []byte) []byte {
	head := doc[:min(len(doc), sniffSize)]
	for _, marker := range []string{"<?xml", "<rss", "<feed", "<rdf:RDF"} {
		if i := bytes.Index(head, []byte(marker)); i > 0 {
			return doc[i:]
		}
	}
	return nil
}

// describeParseError turns gofeed's error into one line a person can act on.
func describeParseError(doc []byte, baseURL string, err error) error {
	var xmlErr *xml.SyntaxError
	var jsonErr *json.SyntaxError
	switch {
	case errors.Is(err, gofeed.ErrFeedTypeNotDetected):
		if looksLikeHTML(doc) {
			return htmlPageError(doc, baseURL)
		}
		return fmt.Errorf("%w: the document is not RSS, Atom or JSON Feed", ErrNotFeed)
	case errors.As(err, &xmlErr):
		return fmt.Errorf("%w: the XML is cut short or garbled (line %d: %s)", ErrMalformed, xmlErr.Line, xmlErr.Msg)
	case errors.As(err, &jsonErr):
		return fmt.Errorf("%w: the JSON is cut short or garbled (%s)", ErrMalformed, jsonErr.Error())
	}
	return fmt.Errorf("%w: %s", ErrMalformed, oneLine(err.Error()))
}

// htmlPageError reports a web page given as a feed, naming the feed the page
// advertises when it has one. A bot-protection challenge served with a 200
// is named as such: the URL is right, the site is blocking feed readers.
func htmlPageError(doc []byte, baseURL string) error {
	if wall := botWall(nil, doc); wall != "" {
		return fmt.Errorf("%w: got %s's bot check instead of the feed; %s", ErrNotFeed, wall, allowFeedReaders)
	}
	msg := "got an HTML page (maybe the blog's home page, not its feed URL)"
	if links := feedLinks(doc, baseURL); len(links) > 0 {
		msg += "; the page points to a feed at " + links[0]
	}
	return fmt.Errorf("%w: %s", ErrNotFeed, msg)
}

func looksLikeHTML(doc []byte) bool {
	head := bytes.ToLower(doc[:min(len(doc), sniffSize)])
	return bytes.Contains(head, []byte("<!doctype html")) || bytes.Contains(head, []byte("<html"))
}

// checkJSONFeed refuses JSON that is not a JSON Feed (an API response, say),
// which gofeed would otherwise accept as an empty feed.
func checkJSONFeed(gf *gofeed.Feed) error {
	jf, ok := gf.OriginalFeed().(*jsonfeed.Feed)
	if !ok || len(jf.Items) > 0 || bytes.Contains([]byte(jf.Version), []byte("jsonfeed.org")) {
		return nil
	}
	return fmt.Errorf("%w: got JSON that is not a JSON Feed", ErrNotFeed)
}
