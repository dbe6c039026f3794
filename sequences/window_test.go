package sequences

import (
	"strings"
	"testing"
)

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical form
	}{
		{"Mon-Fri 09:00-17:00", "Mon-Fri 09:00-17:00"},
		{"  mon-fri   09:00-17:00 ", "Mon-Fri 09:00-17:00"},
		{"weekdays 09:00-17:00", "Mon-Fri 09:00-17:00"},
		{"Mon,Wed 10:00-16:00", "Mon,Wed 10:00-16:00"},
		{"Mon, Wed 10:00-16:00", "Mon,Wed 10:00-16:00"},
		{"Monday,Wednesday 10:00-16:00", "Mon,Wed 10:00-16:00"},
		{"every day 08:00-20:00", "every day 08:00-20:00"},
		{"daily 08:00-20:00", "every day 08:00-20:00"},
		{"weekends 10:00-12:00", "Sat,Sun 10:00-12:00"},
		{"Fri-Mon 10:00-12:00", "Mon,Fri,Sat,Sun 10:00-12:00"},
		{"Sat,Sun 00:00-24:00", "Sat,Sun 00:00-24:00"},
		{"", "always"},
		{"always", "always"},
	}
	for _, tt := range tests {
		w, err := ParseWindow(tt.in)
		if err != nil {
			t.Errorf("ParseWindow(%q): %v", tt.in, err)
			continue
		}
		if w.String() != tt.want {
			t.Errorf("ParseWindow(%q) = %q, want %q", tt.in, w, tt.want)
		}
		if back, err := ParseWindow(w.String()); err != nil || back != w {
			t.Errorf("canonical %q does not read back: %v, %v", w, back, err)
		}
	}
}

func TestParseWindowRefuses(t *testing.T) {
	tests := map[string]string{
		"Mon-Fri":             "want days and a span",
		"Mon-Fri 9:00-17:00":  "want HH:MM",
		"Mon-Fri 09:00-25:00": "want HH:MM",
		"Mon-Fri 09:60-17:00": "want HH:MM",
		"Mon-Fri 17:00-09:00": "start must be before the end",
		"Mon-Fri 09:00-09:00": "start must be before the end",
		"Mon-Fry 09:00-17:00": `unknown day "fry"`,
		"Mon-Fri 09:00":       "want HH:MM-HH:MM",
		", 09:00-17:00":       "unknown day",
	}
	for in, frag := range tests {
		_, err := ParseWindow(in)
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("ParseWindow(%q) = %v, want an error with %q", in, err, frag)
		}
	}
}
