package feeds

import (
	"testing"
)

func TestIsTrackerURL(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://feeds.feedburner.com/~r/Blog/~4/xyz", true},
		{"https://feeds.feedburner.com/Blog", false},
		{"https://pixel.wp.com/g.gif?blog=1", true},
		{"https://stats.wordpress.com/b.gif", true},
		{"https://i0.wp.com/blog.example/img.jpg", false},
		{"https://medium.com/_/stat?event=x", true},
		{"https://cdn-images-1.medium.com/max/800/a.png", false},
		{"https://ssl.google-analytics.com/__utm.gif", true},
		{"https://ad.doubleclick.net/x", true},
		{"https://notdoubleclick.net/x", false},
		{"https://substackcdn.com/image/fetch/w_1456/x.png", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := isTrackerURL(tt.url); got != tt.want {
				t.Errorf("isTrackerURL(%q) = %v, want %v", tt.url, got, tt.want)
			}
		})
	}
}

func TestParseItemImage(t *testing.T) {
	const head = `<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>x</title>` +
		`<link>https://img.example.com/</link><item><guid>1</guid><link>https://img.example.com/p/</link>`
	tests := []struct{ name, item, want string }{
		{"media content beats content image",
			`<media:content url="/full.jpg" medium="image"/><description>&lt;img src="body.jpg"&gt;</description>`,
			"https://img.example.com/full.jpg"},
		{"non-image media ignored",
			`<media:content url="/talk.mp3" type="audio/mpeg"/><description>&lt;img src="body.jpg"&gt;</description>`,
			"https://img.example.com/p/body.jpg"},
		{"thumbnail only as a last resort",
			`<media:thumbnail url="https://img.example.com/s72-c/t.jpg"/><description>text</description>`,
			"https://img.example.com/s72-c/t.jpg"},
		{"content image beats thumbnail",
			`<media:thumbnail url="https://img.example.com/s72-c/t.jpg"/><description>&lt;img src="body.jpg"&gt;</description>`,
			"https://img.example.com/p/body.jpg"},
		{"pixel is never the image",
			`<description>&lt;img src="https://img.example.com/count.gif" width="1" height="1"&gt;</description>`,
			""},
		{"tracker enclosure skipped",
			`<enclosure url="https://pixel.wp.com/g.gif" type="image/gif"/><description>x</description>`,
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feed, err := Parse([]byte(head+tt.item+`</item></channel></rss>`), "")
			if err != nil {
				t.Fatal(err)
			}
			if got := feed.Items[0].ImageURL; got != tt.want {
				t.Errorf("ImageURL = %q, want %q", got, tt.want)
			}
		})
	}
}
