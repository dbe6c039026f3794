package feeds

import (
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// rssTitled is a one-item RSS document whose feed and item titles are
// title, with decl as its XML declaration.
func rssTitled(decl, title string) string {
	return decl + `<rss version="2.0"><channel><title>` + title + `</title><link>https://cafe.example.fr/</link>` +
		`<item><title>` + title + `</title><link>https://cafe.example.fr/p</link><description>ok</description></item></channel></rss>`
}

func encode(t *testing.T, enc interface{ Bytes([]byte) ([]byte, error) }, s string) []byte {
	t.Helper()
	b, err := enc.Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseEncodings parses the same feed in the encodings servers really
// send, with and without a byte order mark or a declaration that says so.
func TestParseEncodings(t *testing.T) {
	const title = "Café Thérapie – “Ça va ?”"
	latin1Title := "Café Thérapie - Ça va ?" // Latin-1 has no dash or curly quotes
	le := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder()
	be := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder()
	leNoBOM := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder()
	cp1252 := charmap.Windows1252.NewEncoder()
	latin1 := charmap.ISO8859_1.NewEncoder()
	tests := []struct {
		name, header, want string
		body               []byte
	}{
		{"utf-16le with bom", "", title, encode(t, le, rssTitled(`<?xml version="1.0" encoding="UTF-16"?>`, title))},
		{"utf-16be with bom", "", title, encode(t, be, rssTitled(`<?xml version="1.0" encoding="utf-16"?>`, title))},
		{"utf-16le without bom", "", title, encode(t, leNoBOM, rssTitled(`<?xml version="1.0" encoding="UTF-16"?>`, title))},
		{"utf-16 json feed", "", title, encode(t, le, `{"version":"https://jsonfeed.org/version/1.1","title":"`+title+
			`","items":[{"id":"1","url":"https://cafe.example.fr/p","title":"`+title+`","content_text":"ok"}]}`)},
		{"latin-1 named only in the HTTP header", "ISO-8859-1", latin1Title,
			encode(t, latin1, rssTitled(`<?xml version="1.0"?>`, latin1Title))},
		{"windows-1252 named only in the HTTP header", "windows-1252", title,
			encode(t, cp1252, rssTitled("", title))},
		{"windows-1252 named nowhere", "", title, encode(t, cp1252, rssTitled(`<?xml version="1.0" encoding="utf-8"?>`, title))},
		{"declared latin-1 but really utf-8", "", title, []byte(rssTitled(`<?xml version="1.0" encoding="ISO-8859-1"?>`, title))},
		{"declared latin-1, header says utf-8, body latin-1", "utf-8", latin1Title,
			encode(t, latin1, rssTitled(`<?xml version="1.0" encoding="ISO-8859-1"?>`, latin1Title))},
		{"utf-8 with one stray byte", "", "Café � Thérapie", []byte(rssTitled("", "Café \xe9 Thérapie"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(toUTF8(tt.body, tt.header), "https://cafe.example.fr/feed")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Title != tt.want || len(f.Items) != 1 || f.Items[0].Title != tt.want {
				t.Errorf("titles = %q and %+v, want %q", f.Title, f.Items, tt.want)
			}
		})
	}
}

// TestToUTF8LeavesGoodDocuments checks that a document already in the
// encoding it declares is not touched, so gofeed converts it as before.
func TestToUTF8LeavesGoodDocuments(t *testing.T) {
	for name, body := range map[string][]byte{
		"utf-8":          []byte(rssTitled(`<?xml version="1.0" encoding="UTF-8"?>`, "Café")),
		"declared latin": readFixture(t, "latin1.xml"),
		"declared 1252":  readFixture(t, "windows1252.xml"),
		"ascii":          []byte(rssTitled("", "Plain")),
	} {
		for _, header := range []string{"", "ISO-8859-1", "utf-8"} {
			if got := toUTF8(body, header); string(got) != string(body) {
				t.Errorf("%s with header charset %q was changed", name, header)
			}
		}
	}
}
