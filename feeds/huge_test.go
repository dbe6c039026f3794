package feeds

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"
)

// hugeParagraph is one block of a long post, the way WordPress's block
// editor writes it.
func hugeParagraph(i int) string {
	return fmt.Sprintf(`<div class="wp-block-group" style="margin:0"><p class="has-text-color" style="color:#333">Paragraph %d with <a href="/link/%d">a link</a>, <strong>bold</strong> and <em>emphasised</em> words, and a sentence that ends here.</p><img src="/img/%d.jpg" alt="" width="600" height="400"></div>`+"\n", i, i, i)
}

// hugePost is a post of at least size bytes of HTML, made of paragraphs.
func hugePost(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		b.WriteString(hugeParagraph(i))
	}
	return b.String()
}

// hugeFeed is a feed in the given format with one post of size bytes of
// HTML (or plain text, for "json text"), and a short post after it.
func hugeFeed(format string, size int) []byte {
	post := hugePost(size)
	const item2 = `<p>A short post.</p>`
	switch format {
	case "rss cdata":
		return []byte(rssWith(`<content:encoded><![CDATA[`+post+`]]></content:encoded>`, `<content:encoded><![CDATA[`+item2+`]]></content:encoded>`))
	case "rss escaped":
		return []byte(rssWith(`<description>`+html.EscapeString(post)+`</description>`, `<description>`+html.EscapeString(item2)+`</description>`))
	case "atom":
		return []byte(`<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><link href="https://blog.example/"/>` +
			`<entry><id>huge</id><title>Huge</title><link href="https://blog.example/huge"/><updated>2025-01-07T16:00:00Z</updated><content type="html">` + html.EscapeString(post) + `</content></entry>` +
			`<entry><id>small</id><title>Small</title><link href="https://blog.example/small"/><updated>2025-01-06T16:00:00Z</updated><content type="html">` + html.EscapeString(item2) + `</content></entry></feed>`)
	case "json", "json text":
		key, small := "content_html", item2
		if format == "json text" {
			key, small = "content_text", "A short post."
			post = strings.Repeat("A paragraph of plain text, as a note app writes it, and it ends here.\n\n", size/70+1)
		}
		doc, _ := json.Marshal(map[string]any{
			"version": "https://jsonfeed.org/version/1.1", "title": "Blog", "home_page_url": "https://blog.example/",
			"items": []map[string]string{
				{"id": "huge", "title": "Huge", "url": "https://blog.example/huge", key: post},
				{"id": "small", "title": "Small", "url": "https://blog.example/small", key: small},
			},
		})
		return doc
	}
	panic("unknown format " + format)
}

func rssWith(huge, small string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Blog</title><link>https://blog.example/</link>` +
		`<item><title>Huge</title><link>https://blog.example/huge</link><guid>huge</guid>` + huge + `</item>` +
		`<item><title>Small</title><link>https://blog.example/small</link><guid>small</guid>` + small + `</item></channel></rss>`
}
