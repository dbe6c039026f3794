package feeds

import (
	"regexp"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
)

// itemPublished is when the item was published: its published date, else
// its updated date, each taken from gofeed when gofeed could read it and
// otherwise read here (gofeed knows only English day and month names). A
// date outside plausibleTime counts as missing: Hugo writes year 1 for
// pages without a date, and an email must never show it. The zero time
// means the feed gave no usable date; the caller falls back to when the
// item was first seen.
func itemPublished(gi *gofeed.Item) time.Time {
	candidates := []struct {
		parsed *time.Time
		raw    string
	}{{gi.PublishedParsed, gi.Published}, {gi.UpdatedParsed, gi.Updated}}
	for _, c := range candidates {
		t, ok := time.Time{}, false
		if c.parsed != nil {
			t, ok = *c.parsed, true
		} else {
			t, ok = parseLooseDate(c.raw)
		}
		if ok && plausibleTime(t) {
			return t.UTC()
		}
	}
	return time.Time{}
}

// plausibleTime rejects placeholder dates (year 1, the Unix epoch) and
// typos centuries away. Blogs are younger than 1995.
func plausibleTime(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1995 && y < 2200
}

// leadingWeekday matches a day name before the day of the month, in any
// language: "lun., ", "Mo, ", "Tuesday ".
var leadingWeekday = regexp.MustCompile(`^\p{L}+\.?,?\s+`)

// monthNames maps French, German, Spanish, Italian, Portuguese and Dutch
// month names and abbreviations (lower case, no trailing dot) to English.
// English names pass through: time.Parse reads them.
var monthNames = map[string]string{}

func init() {
	for en, names := range map[string]string{
		"Jan": "janv janvier januar jän jänner enero ene gen gennaio janeiro januari",
		"Feb": "févr fevr février fevrier februar febrero febbraio fev fevereiro februari",
		"Mar": "mars mär mrz märz marzo março mrt maart",
		"Apr": "avr avril abr abril aprile",
		"May": "mai mayo mag maggio maio mei",
		"Jun": "juin juni junio giu giugno junho",
		"Jul": "juil juillet juli julio lug luglio julho",
		"Aug": "août aout ago agosto",
		"Sep": "sept septembre set settembre setembro septiembre setiembre",
		"Oct": "octobre okt oktober octubre ott ottobre out outubro",
		"Nov": "novembre noviembre novembro",
		"Dec": "déc décembre dez dezember dic diciembre dicembre dezembro",
	} {
		for _, n := range strings.Fields(names) {
			monthNames[n] = en
		}
	}
}

// looseLayouts are the shapes left once the day name is gone and the month
// is in English: RFC 822 dates with or without seconds, zone or time.
var looseLayouts = []string{
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04",
	"2 Jan 2006",
	"Jan 2 2006 15:04:05 -0700",
	"Jan 2 2006",
}

// zoneOffsets are the zone names a non-English date may end with.
var zoneOffsets = map[string]string{
	"GMT": "+0000", "UTC": "+0000", "UT": "+0000", "Z": "+0000",
	"WET": "+0000", "WEST": "+0100", "BST": "+0100", "CET": "+0100", "CEST": "+0200",
	"MEZ": "+0100", "MESZ": "+0200", "EET": "+0200", "EEST": "+0300",
	"EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
}

// parseLooseDate reads the RFC 822 dates of feeds written in other
// languages, such as "lun., 13 janv. 2025 10:00:00 +0100" or
// "Mo, 13 Jan 2025 10:00:00 MEZ". The first word is tried both as a day
// name and as part of the date, since "mar" is Tuesday in Spanish and
// March in English.
func parseLooseDate(raw string) (time.Time, bool) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return time.Time{}, false
	}
	tries := []string{s}
	if m := leadingWeekday.FindString(s); m != "" {
		tries = []string{s[len(m):], s}
	}
	for _, try := range tries {
		normalised := englishDate(try)
		for _, layout := range looseLayouts {
			if t, err := time.Parse(layout, normalised); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// englishDate rewrites month and zone names into the forms time.Parse
// reads, dropping commas and abbreviation dots.
func englishDate(s string) string {
	fields := strings.Fields(strings.ReplaceAll(s, ",", " "))
	for i, f := range fields {
		f = strings.TrimSuffix(f, ".")
		if en, ok := monthNames[strings.ToLower(f)]; ok {
			f = en
		} else if off, ok := zoneOffsets[strings.ToUpper(f)]; ok && i > 0 {
			f = off
		}
		fields[i] = f
	}
	return strings.Join(fields, " ")
}
