package feeds

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestParseDates parses items dated every way feeds date them. A date that
// cannot be read, or a placeholder such as Hugo's year 1, leaves Published
// zero (the worker then shows when the post was first seen); nothing is
// ever shown as year 1.
func TestParseDates(t *testing.T) {
	f, err := Parse(readFixture(t, "dates.xml"), "https://dates.example/feed")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range f.Items {
		got[it.Title] = ""
		if !it.Published.IsZero() {
			got[it.Title] = it.Published.Format(time.RFC3339)
		}
	}
	want := map[string]string{
		"No date at all":       "",
		"Eastern":              "2025-01-14T14:00:00Z",
		"Pacific daylight":     "2025-07-12T15:30:00Z",
		"French day and month": "2025-01-13T09:00:00Z",
		"German day":           "2025-01-13T09:00:00Z",
		"Spanish month":        "2025-01-13T09:00:00Z",
		"ISO without zone":     "2025-01-12T18:00:00Z", // read as UTC
		"Year one":             "",
		"Garbage":              "",
		"Dublin Core only":     "2025-01-10T13:00:00Z",
		"Wrong weekday":        "2025-01-13T10:00:00Z", // the date wins over the day name
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

func TestParseLooseDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"lun., 13 janv. 2025 10:00:00 +0100", "2025-01-13T09:00:00Z"},
		{"Mo, 13 Jan 2025 10:00:00 MEZ", "2025-01-13T09:00:00Z"},
		{"Di, 04 Mär 2025 08:15:00 +0100", "2025-03-04T07:15:00Z"},
		{"mar, 14 ene 2025 10:00:00 +0100", "2025-01-14T09:00:00Z"}, // "mar" is Tuesday here, not March
		{"sáb, 1 feb 2025 12:00 GMT", "2025-02-01T12:00:00Z"},
		{"gio, 06 mar 2025 18:30:00 +0100", "2025-03-06T17:30:00Z"},
		{"qua, 09 out 2024 09:00:00 -0300", "2024-10-09T12:00:00Z"},
		{"13 déc. 2024", "2024-12-13T00:00:00Z"},
		{"", ""},
		{"soon", ""},
		{"32 janv. 2025", ""},
	}
	for _, tt := range tests {
		got := ""
		if tm, ok := parseLooseDate(tt.in); ok {
			got = tm.UTC().Format(time.RFC3339)
		}
		if got != tt.want {
			t.Errorf("parseLooseDate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestItemPublishedFallbacks checks the order published → updated, and
// that a placeholder published date does not hide a real updated one.
func TestItemPublishedFallbacks(t *testing.T) {
	atom := func(entry string) string {
		return `<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>e</id><title>e</title>` + entry + `</entry></feed>`
	}
	tests := []struct{ name, body, want string }{
		{"published wins", atom(`<published>2025-01-02T03:04:05+01:00</published><updated>2025-02-01T00:00:00Z</updated>`), "2025-01-02T02:04:05Z"},
		{"updated only", atom(`<updated>2025-02-01T00:00:00Z</updated>`), "2025-02-01T00:00:00Z"},
		{"year-one published, real updated", atom(`<published>0001-01-01T00:00:00+01:00</published><updated>2025-02-01T00:00:00Z</updated>`), "2025-02-01T00:00:00Z"},
		{"epoch", atom(`<published>1970-01-01T00:00:00Z</published>`), ""},
		{"neither", atom(``), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.body), "https://x.example/")
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if p := f.Items[0].Published; !p.IsZero() {
				got = p.Format(time.RFC3339)
			}
			if got != tt.want {
				t.Errorf("Published = %q, want %q", got, tt.want)
			}
		})
	}
}
