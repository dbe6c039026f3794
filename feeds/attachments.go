package feeds

import (
	"fmt"
	"html"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/mmcdole/gofeed"
)

// maxAttachedImages bounds the images added from an item's media: Mastodon
// allows four per post.
const maxAttachedImages = 4

// attachment is a file an item carries beside its content.
type attachment struct {
	url, alt string
	kind     string // "image", "audio" or "video"
}

// withAttachments adds to an item's sanitised content what the item
// carries beside it but the content does not show, since an email shows
// only the content. When the content has no image: a titled post's cover
// image goes first (Wix, WordPress featured images), an untitled note's
// photos (Mastodon, micro.blog) go after its text. Links to audio and video
// files the content does not already link (podcast episodes) go last.
func withAttachments(content string, gi *gofeed.Item, base *url.URL, rw *rewriter, titled bool) string {
	var images, media strings.Builder
	maxImages := maxAttachedImages
	if titled {
		maxImages = 1
	}
	count := 0
	seen := map[string]bool{}
	for _, a := range itemAttachments(gi, base) {
		if seen[a.url] || isTrackerURL(a.url) || rw.dropped[a.url] {
			continue
		}
		seen[a.url] = true
		switch {
		case a.kind == "image" && rw.firstImg == "" && count < maxImages:
			count++
			fmt.Fprintf(&images, `<p><img src="%s" alt="%s"></p>`, html.EscapeString(a.url), html.EscapeString(a.alt))
		case a.kind == "audio" || a.kind == "video":
			if !rw.linked[a.url] && !strings.Contains(content, html.EscapeString(a.url)) {
				fmt.Fprintf(&media, `<p><a href="%s" rel="noopener">%s</a></p>`, html.EscapeString(a.url), html.EscapeString(mediaLabel(gi, a.kind)))
			}
		}
	}
	before, after := "", policy.Sanitize(media.String())
	if titled {
		before = policy.Sanitize(images.String())
	} else {
		after = policy.Sanitize(images.String()) + after
	}
	return before + content + after
}

// itemAttachments lists the item's Media RSS contents and its enclosures,
// with absolute URLs, in document order.
func itemAttachments(gi *gofeed.Item, base *url.URL) []attachment {
	var out []attachment
	for _, m := range gi.Extensions["media"]["content"] {
		a := attachment{url: absoluteURL(base, m.Attrs["url"]), kind: mediaKind(m.Attrs["medium"], m.Attrs["type"], m.Attrs["url"])}
		if d := m.Children["description"]; len(d) > 0 {
			a.alt = plainText(d[0].Value)
		}
		out = append(out, a)
	}
	for _, enc := range gi.Enclosures {
		if enc != nil {
			out = append(out, attachment{url: absoluteURL(base, enc.URL), kind: mediaKind("", enc.Type, enc.URL)})
		}
	}
	kept := out[:0]
	for _, a := range out {
		if a.url != "" && a.kind != "" {
			kept = append(kept, a)
		}
	}
	return kept
}

// mediaKind classifies a file by its Media RSS medium, else its MIME type,
// else its file extension.
func mediaKind(medium, mimeType, rawURL string) string {
	switch medium = strings.ToLower(medium); medium {
	case "image", "audio", "video":
		return medium
	}
	if kind, _, ok := strings.Cut(strings.ToLower(mimeType), "/"); ok {
		switch kind {
		case "image", "audio", "video":
			return kind
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	switch strings.ToLower(path.Ext(u.Path)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp":
		return "image"
	case ".mp3", ".m4a", ".ogg", ".opus", ".wav":
		return "audio"
	case ".mp4", ".m4v", ".mov", ".webm":
		return "video"
	}
	return ""
}

// mediaLabel words the link to an audio or video file, with the episode's
// length when the feed gives it.
func mediaLabel(gi *gofeed.Item, kind string) string {
	label := "Watch the video"
	if kind == "audio" {
		label = "Listen to the audio"
	}
	if gi.ITunesExt == nil {
		return label
	}
	if kind == "audio" {
		label = "Listen to this episode"
	}
	if minutes := durationMinutes(gi.ITunesExt.Duration); minutes > 0 {
		label += fmt.Sprintf(" (%d min)", minutes)
	}
	return label
}

// durationMinutes reads an itunes:duration ("1795", "29:55", "1:02:03")
// rounded to whole minutes, or 0.
func durationMinutes(d string) int {
	secs := 0
	for _, part := range strings.Split(strings.TrimSpace(d), ":") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return 0
		}
		secs = secs*60 + n
	}
	return (secs + 30) / 60
}
