package sequences

import "time"

// Next returns when a step due at due should be sent, given the window w
// read on the wall clock of loc (the person's time zone, else the
// practice's; nil means UTC). It is due itself if due falls inside the
// window, and otherwise the first later instant at which the window is open.
// The result is always expressed in loc.
//
// The window is the set of instants whose local wall clock shows an open
// weekday and a time of day in [start, end). That definition settles the
// daylight saving changes: an opening whose local time does not exist (the
// clocks jump over it) happens the instant the clocks jump, if the window is
// still open then, else the next open day; an opening whose local time
// happens twice is its first occurrence, or its second when due falls
// between the two.
//
// Next does not know about steps that ignore the window (after: 0s):
// Sequence.SendAt decides that before calling it.
func Next(due time.Time, w Window, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	local := due.In(loc)
	if w.Always() || w.contains(local) {
		return local
	}
	y, m, d := local.Date()
	// Every open weekday comes round within a week; two weeks leave room
	// for an opening lost to a clock change.
	for i := range 15 {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC)
		if w.days&(1<<day.Weekday()) == 0 {
			continue
		}
		for _, u := range wallInstants(day, w.start*60, loc) {
			if !u.Before(due) && w.contains(u) {
				return u
			}
		}
	}
	return local // unreachable for a valid window; never lose the step
}

// contains reports whether the local time t (already in its zone) is open.
func (w Window) contains(t time.Time) bool {
	if w.Always() {
		return true
	}
	sod := secondOfDay(t)
	return w.days&(1<<t.Weekday()) != 0 && sod >= w.start*60 && sod < w.end*60
}

func secondOfDay(t time.Time) int {
	h, m, s := t.Clock()
	return h*3600 + m*60 + s
}

// wallInstants returns, in order, the instants at which the wall clock in
// loc first shows day's date at sec seconds after midnight or later: one
// normally, two when the clocks fall back over that time (it happens
// twice), and when the clocks spring forward over it, the instant of the
// jump, the first moment the wall clock has reached it.
func wallInstants(day time.Time, sec int, loc *time.Location) []time.Time {
	y, m, d := day.Date()
	wall := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second)
	probe := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(time.Duration(sec) * time.Second)
	var out []time.Time
	seen := map[int]bool{}
	for _, p := range []time.Time{probe.Add(-26 * time.Hour), probe, probe.Add(26 * time.Hour)} {
		_, off := p.In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		u := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if sameWall(u, wall) {
			out = append(out, u)
		}
	}
	if len(out) == 2 && out[1].Before(out[0]) {
		out[0], out[1] = out[1], out[0]
	}
	if len(out) == 0 {
		out = append(out, jump(wall, loc))
	}
	return out
}

// sameWall reports whether u's local date and clock are those of wall
// (a time in UTC standing for a local reading).
func sameWall(u, wall time.Time) bool {
	uy, um, ud := u.Date()
	wy, wm, wd := wall.Date()
	return uy == wy && um == wm && ud == wd && secondOfDay(u) == secondOfDay(wall)
}

// jump finds the instant at which loc's clocks sprang forward over the
// local reading wall: the boundary of the zone in effect just around it.
func jump(wall time.Time, loc *time.Location) time.Time {
	y, m, d := wall.Date()
	h, mi, s := wall.Clock()
	c := time.Date(y, m, d, h, mi, s, 0, loc) // Go picks one side of the jump
	start, end := c.ZoneBounds()
	cy, cm, cd := c.Date()
	ch, cmi, cs := c.Clock()
	if time.Date(cy, cm, cd, ch, cmi, cs, 0, time.UTC).Before(wall) {
		return end.In(loc) // c reads earlier: it is before the jump
	}
	return start.In(loc)
}
