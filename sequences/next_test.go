package sequences

import (
	"math/rand/v2"
	"testing"
	"time"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load time zone: %v", err)
	}
	return loc
}

func TestNext(t *testing.T) {
	den := zone(t, "America/Denver")
	kol := zone(t, "Asia/Kolkata")
	utc := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		due    time.Time
		window string
		loc    *time.Location
		want   time.Time // an instant; also checked to be in loc
	}{
		{"Saturday 10:00 Denver waits for Monday 09:00", time.Date(2026, 12, 5, 10, 0, 0, 0, den), "Mon-Fri 09:00-17:00", den, time.Date(2026, 12, 7, 9, 0, 0, 0, den)},
		{"inside the window is sent at due", time.Date(2026, 12, 8, 11, 17, 5, 0, den), "Mon-Fri 09:00-17:00", den, time.Date(2026, 12, 8, 11, 17, 5, 0, den)},
		{"opening minute is inside", time.Date(2026, 12, 8, 9, 0, 0, 0, den), "Mon-Fri 09:00-17:00", den, time.Date(2026, 12, 8, 9, 0, 0, 0, den)},
		{"last second is inside", time.Date(2026, 12, 8, 16, 59, 59, 0, den), "Mon-Fri 09:00-17:00", den, time.Date(2026, 12, 8, 16, 59, 59, 0, den)},
		{"the closing minute is outside", time.Date(2026, 12, 8, 17, 0, 0, 0, den), "Mon-Fri 09:00-17:00", den, time.Date(2026, 12, 9, 9, 0, 0, 0, den)},
		{"early morning waits for the same day", time.Date(2026, 12, 8, 6, 30, 0, 0, den), "Mon-Fri 09:00-17:00", den, time.Date(2026, 12, 8, 9, 0, 0, 0, den)},
		{"Friday evening waits for Monday", time.Date(2026, 12, 4, 17, 30, 0, 0, den), "Mon-Fri 09:00-17:00", den, time.Date(2026, 12, 7, 9, 0, 0, 0, den)},
		{"due given in UTC is read in the person's zone", utc(2026, 12, 5, 15, 59), "Mon-Fri 09:00-17:00", den, time.Date(2026, 12, 7, 9, 0, 0, 0, den)},
		{"Monday in UTC is still Sunday in Denver", utc(2026, 12, 7, 3, 0), "Mon-Fri 09:00-17:00", den, time.Date(2026, 12, 7, 9, 0, 0, 0, den)},
		// March: clocks spring forward Sunday March 8, 2026 at 02:00 MST.
		{"March DST weekend: Saturday MST to Monday 09:00 MDT", time.Date(2026, 3, 7, 10, 0, 0, 0, den), "Mon-Fri 09:00-17:00", den, utc(2026, 3, 9, 15, 0)},
		{"March: an opening that does not exist opens at the jump", time.Date(2026, 3, 7, 20, 0, 0, 0, den), "every day 02:30-04:00", den, utc(2026, 3, 8, 9, 0)},
		{"March: a window that does not exist that day waits a day", time.Date(2026, 3, 7, 20, 0, 0, 0, den), "every day 02:00-03:00", den, utc(2026, 3, 9, 8, 0)},
		{"March: due in the skipped hour's window after the jump", time.Date(2026, 3, 8, 3, 10, 0, 0, den), "Sun 02:30-04:00", den, utc(2026, 3, 8, 9, 10)},
		// November: clocks fall back Sunday November 1, 2026 at 02:00 MDT.
		{"November DST weekend: Saturday MDT to Monday 09:00 MST", time.Date(2026, 10, 31, 10, 0, 0, 0, den), "Mon-Fri 09:00-17:00", den, utc(2026, 11, 2, 16, 0)},
		{"November: an opening that happens twice is the first", time.Date(2026, 10, 31, 23, 0, 0, 0, den), "every day 01:30-05:00", den, utc(2026, 11, 1, 7, 30)},
		{"November: due between the two is the second", utc(2026, 11, 1, 8, 10), "every day 01:30-05:00", den, utc(2026, 11, 1, 8, 30)},
		{"November: the repeated hour is inside the window", utc(2026, 11, 1, 8, 10), "every day 01:00-02:00", den, utc(2026, 11, 1, 8, 10)},
		{"November: Friday after closing, Monday in standard time", time.Date(2026, 10, 30, 18, 0, 0, 0, den), "Mon-Fri 09:00-17:00", den, utc(2026, 11, 2, 16, 0)},
		// Kolkata is UTC+05:30 all year.
		{"Kolkata Saturday waits for Monday 09:00 IST", utc(2026, 12, 5, 4, 0), "Mon-Fri 09:00-17:00", kol, utc(2026, 12, 7, 3, 30)},
		{"Kolkata early Friday waits for 09:00 IST", utc(2026, 12, 4, 1, 0), "Mon-Fri 09:00-17:00", kol, utc(2026, 12, 4, 3, 30)},
		{"Kolkata inside the window", utc(2026, 12, 4, 4, 0), "Mon-Fri 09:00-17:00", kol, utc(2026, 12, 4, 4, 0)},
		{"Kolkata Friday evening in UTC is already Saturday there", utc(2026, 12, 4, 20, 0), "Mon-Fri 09:00-17:00", kol, utc(2026, 12, 7, 3, 30)},
		// Other window forms.
		{"Mon,Wed from Monday afternoon to Wednesday", time.Date(2026, 12, 7, 16, 30, 0, 0, den), "Mon,Wed 10:00-16:00", den, time.Date(2026, 12, 9, 10, 0, 0, 0, den)},
		{"every day at night waits for the morning", time.Date(2026, 12, 5, 21, 0, 0, 0, den), "every day 08:00-20:00", den, time.Date(2026, 12, 6, 8, 0, 0, 0, den)},
		{"a range that wraps the week", time.Date(2026, 12, 8, 12, 0, 0, 0, den), "Fri-Mon 10:00-12:00", den, time.Date(2026, 12, 11, 10, 0, 0, 0, den)},
		{"always is always open", time.Date(2026, 12, 5, 3, 0, 0, 0, den), "", den, time.Date(2026, 12, 5, 3, 0, 0, 0, den)},
		{"nil zone is UTC", utc(2026, 12, 5, 10, 0), "Mon-Fri 09:00-17:00", nil, utc(2026, 12, 7, 9, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Next(tt.due, MustParseWindow(tt.window), tt.loc)
			if !got.Equal(tt.want) {
				t.Errorf("Next(%s) = %s, want %s", tt.due, got, tt.want.In(got.Location()))
			}
			want := tt.loc
			if want == nil {
				want = time.UTC
			}
			if got.Location() != want {
				t.Errorf("result in %s, want %s", got.Location(), want)
			}
		})
	}
}

// TestNextIsTheFirstOpenInstant checks Next against its definition on many
// dues across a year with both DST changes: the result is open, not before
// due, and no open minute lies between due and the result.
func TestNextIsTheFirstOpenInstant(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	zones := []*time.Location{zone(t, "America/Denver"), zone(t, "Asia/Kolkata"), zone(t, "Australia/Lord_Howe"), zone(t, "Europe/London")}
	windows := []Window{MustParseWindow("Mon-Fri 09:00-17:00"), MustParseWindow("every day 01:30-02:30"), MustParseWindow("Sat,Sun 00:00-24:00"), MustParseWindow("Tue 02:00-02:45")}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 400 {
		due := start.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		loc := zones[rng.IntN(len(zones))]
		w := windows[rng.IntN(len(windows))]
		got := Next(due, w, loc)
		if got.Before(due) || !w.contains(got) {
			t.Fatalf("Next(%s, %s, %s) = %s: before due or closed", due, w, loc, got.In(loc))
		}
		for m := due.Truncate(time.Minute).Add(time.Minute); m.Before(got); m = m.Add(time.Minute) {
			if w.contains(m.In(loc)) {
				t.Fatalf("Next(%s, %s, %s) = %s, but %s is open", due, w, loc, got, m.In(loc))
			}
		}
	}
}

func TestSendAtImmediateIgnoresWindow(t *testing.T) {
	den := zone(t, "America/Denver")
	seq := &Sequence{Window: MustParseWindow("Mon-Fri 09:00-17:00"), Steps: []Step{{After: 0}, {After: 2 * time.Second}, {After: 48 * time.Hour}}}
	sat := time.Date(2026, 12, 5, 10, 0, 0, 0, den)
	tests := []struct {
		step int
		want time.Time
	}{
		{0, sat}, // after: 0s goes at once, on a Saturday
		{1, time.Date(2026, 12, 7, 9, 0, 0, 0, den)}, // 2s later is still Saturday: Monday
		{2, time.Date(2026, 12, 7, 10, 0, 0, 0, den)},
	}
	for _, tt := range tests {
		if !seq.Steps[tt.step].Immediate() != (tt.step != 0) {
			t.Errorf("step %d Immediate = %v", tt.step, seq.Steps[tt.step].Immediate())
		}
		if got := seq.SendAt(tt.step, sat, den); !got.Equal(tt.want) {
			t.Errorf("SendAt(%d) = %s, want %s", tt.step, got, tt.want)
		}
	}
}
