package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DigestTime is a time of the week at which a digest goes out, written
// "Mon 09:00" and read in the practice's time zone.
type DigestTime struct {
	Day    time.Weekday
	Hour   int
	Minute int
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseDigest reads "Mon 09:00": a three-letter day (any case) and a 24-hour
// time.
func ParseDigest(s string) (DigestTime, error) {
	bad := fmt.Errorf(`must look like "Mon 09:00" (got %q)`, s)
	day, clock, ok := strings.Cut(strings.TrimSpace(s), " ")
	wd, known := weekdays[strings.ToLower(day)]
	if !ok || !known || len(clock) != 5 || clock[2] != ':' {
		return DigestTime{}, bad
	}
	h, errH := strconv.Atoi(clock[:2])
	m, errM := strconv.Atoi(clock[3:])
	if errH != nil || errM != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return DigestTime{}, bad
	}
	return DigestTime{Day: wd, Hour: h, Minute: m}, nil
}

// String writes the time the way ParseDigest reads it.
func (d DigestTime) String() string {
	return fmt.Sprintf("%s %02d:%02d", d.Day.String()[:3], d.Hour, d.Minute)
}

var feedName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// checkFeeds also refuses names that differ only in case, which a person
// typing "poll --feed Blog" could not tell apart.
func checkFeeds(p *Problems, feeds []Feed) {
	first := make(map[string]int)
	for i, f := range feeds {
		key := fmt.Sprintf("feeds[%d]", i)
		switch folded := strings.ToLower(f.Name); {
		case f.Name == "":
			p.add(key+".name", "required")
		case !feedName.MatchString(f.Name):
			p.add(key+".name", "may hold only letters, digits, - and _ (got %q)", f.Name)
		default:
			if j, dup := first[folded]; dup {
				p.add(key+".name", "%q is already the name of feeds[%d]", f.Name, j)
			} else {
				first[folded] = i
			}
		}
		f.check(p, key)
	}
}

func (f Feed) check(p *Problems, key string) {
	checkWebURL(p, key+".url", f.URL, true)
	if f.Every < time.Second {
		p.add(key+".every", "must be at least 1s (got %s)", f.Every)
	}
	oneOf(p, key+".mode", f.Mode, ModeEach, ModeDigest)
	if f.Digest != "" {
		if _, err := ParseDigest(f.Digest); err != nil {
			p.add(key+".digest", "%v", err)
		}
	}
}

// DefaultDigest is when a feed with mode digest and no digest time sends
// its digest: Monday at nine in the morning, practice time.
const DefaultDigest = "Mon 09:00"

// DigestAt is when the feed's digest goes out, as ParseDigest reads it:
// Digest, or DefaultDigest when it is empty, for a feed with mode digest;
// "" for a feed with mode each, whatever Digest says.
func (f Feed) DigestAt() string {
	switch {
	case f.Mode != ModeDigest:
		return ""
	case f.Digest == "":
		return DefaultDigest
	}
	return f.Digest
}
