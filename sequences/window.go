package sequences

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is the part of the week in which a sequence's steps may be sent,
// read on the recipient's own wall clock: a set of weekdays and one span of
// the day, from Start (inclusive) to End (exclusive), in minutes after
// local midnight. The zero Window is always open.
//
// Grammar (case-insensitive, extra spaces allowed):
//
//	window = "" | "always" | days " " span
//	days   = "every day" | "daily" | "weekdays" | "weekends" | item ("," item)*
//	item   = day | day "-" day          ranges may wrap: "Fri-Mon" is Fri, Sat, Sun, Mon
//	day    = "Mon" | "Tue" | … | "Sun"  or the full name ("Monday")
//	span   = HH:MM "-" HH:MM            24-hour; start before end; end may be 24:00
//
// Examples: "Mon-Fri 09:00-17:00", "Mon,Wed 10:00-16:00",
// "every day 08:00-20:00". A span never crosses midnight: a late-night
// window would be a poor time to write to someone anyway.
type Window struct {
	days       uint8 // bit i set: time.Weekday(i) is open; 0 means always open
	start, end int   // minutes after local midnight
}

// errEmptyDays reports a day list with nothing in it.
var errEmptyDays = errors.New("no days")

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// ParseWindow parses a window in the grammar described on Window.
func ParseWindow(s string) (Window, error) {
	f := strings.Fields(strings.ToLower(s))
	if len(f) == 0 || (len(f) == 1 && f[0] == "always") {
		return Window{}, nil
	}
	if len(f) < 2 {
		return Window{}, fmt.Errorf("window %q: want days and a span, like \"Mon-Fri 09:00-17:00\"", s)
	}
	start, end, err := parseSpan(f[len(f)-1])
	if err != nil {
		return Window{}, fmt.Errorf("window %q: %w", s, err)
	}
	days, err := parseDays(strings.Join(f[:len(f)-1], " "))
	if err != nil {
		return Window{}, fmt.Errorf("window %q: %w", s, err)
	}
	return Window{days: days, start: start, end: end}, nil
}

// MustParseWindow is ParseWindow for constants in tests and examples; it
// panics on an error.
func MustParseWindow(s string) Window {
	w, err := ParseWindow(s)
	if err != nil {
		panic(err)
	}
	return w
}

func parseDays(s string) (uint8, error) {
	switch s {
	case "every day", "daily", "everyday":
		return 0x7f, nil
	case "weekdays":
		return 0x3e, nil
	case "weekends":
		return 0x41, nil
	}
	var days uint8
	for item := range strings.SplitSeq(strings.ReplaceAll(s, " ", ""), ",") {
		from, to, isRange := strings.Cut(item, "-")
		a, ok := dayNames[from]
		if !ok {
			return 0, fmt.Errorf("unknown day %q", from)
		}
		b := a
		if isRange {
			if b, ok = dayNames[to]; !ok {
				return 0, fmt.Errorf("unknown day %q", to)
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			days |= 1 << d
			if d == b {
				break
			}
		}
	}
	if days == 0 {
		return 0, errEmptyDays
	}
	return days, nil
}

func parseSpan(s string) (start, end int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("span %q: want HH:MM-HH:MM", s)
	}
	if start, err = parseClock(a); err != nil {
		return 0, 0, err
	}
	if end, err = parseClock(b); err != nil {
		return 0, 0, err
	}
	if start >= end {
		return 0, 0, fmt.Errorf("span %q: the start must be before the end (a span cannot cross midnight)", s)
	}
	return start, end, nil
}

// parseClock parses HH:MM into minutes after midnight; 24:00 is the end of
// the day.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time %q: want HH:MM, 00:00 to 24:00", s)
	}
	return hh*60 + mm, nil
}

// Always reports whether w is open at every moment.
func (w Window) Always() bool { return w.days == 0 }

// String gives w in the canonical form of the grammar, such as
// "Mon-Fri 09:00-17:00" or "always"; ParseWindow reads it back.
func (w Window) String() string {
	if w.Always() {
		return "always"
	}
	var names []string
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if w.days&(1<<d) != 0 {
			names = append(names, d.String()[:3])
		}
	}
	days := strings.Join(names, ",")
	switch w.days {
	case 0x7f:
		days = "every day"
	case 0x3e:
		days = "Mon-Fri"
	}
	return fmt.Sprintf("%s %02d:%02d-%02d:%02d", days, w.start/60, w.start%60, w.end/60, w.end%60)
}

// MarshalText writes w in its canonical form.
func (w Window) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText parses a window in the grammar described on Window.
func (w *Window) UnmarshalText(b []byte) error {
	v, err := ParseWindow(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}
