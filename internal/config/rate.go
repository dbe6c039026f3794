package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a number of events per period, written "20/s", "100/m" or
// "3600/h". The zero Rate is unlimited, written "0", "" or "unlimited".
type Rate struct {
	N   int
	Per time.Duration
}

var rateUnits = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

var errRateForm = errors.New(`must look like 20/s, 100/m or 3600/h, or be 0 for unlimited`)

// ParseRate parses the written form of a Rate.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "0", "unlimited":
		return Rate{}, nil
	}
	num, unit, ok := strings.Cut(s, "/")
	per, known := rateUnits[strings.TrimSpace(unit)]
	if !ok || !known {
		return Rate{}, fmt.Errorf("%w (got %q)", errRateForm, s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 {
		return Rate{}, fmt.Errorf("%w (got %q)", errRateForm, s)
	}
	if n == 0 {
		return Rate{}, nil
	}
	return Rate{N: n, Per: per}, nil
}

// Unlimited reports whether the rate puts no limit on sending.
func (r Rate) Unlimited() bool {
	return r.N <= 0
}

// Interval is the time between two events at this rate, zero when unlimited.
func (r Rate) Interval() time.Duration {
	if r.Unlimited() {
		return 0
	}
	return r.Per / time.Duration(r.N)
}

// String writes the rate the way ParseRate reads it; a period other than a
// second, minute or hour (possible only in code) is written as a duration.
func (r Rate) String() string {
	if r.Unlimited() {
		return "unlimited"
	}
	for unit, per := range rateUnits {
		if per == r.Per {
			return fmt.Sprintf("%d/%s", r.N, unit)
		}
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// check is for a Rate built in code rather than parsed.
func (r Rate) check() error {
	if r.N > 0 && r.Per <= 0 {
		return fmt.Errorf("a rate of %d needs a positive period", r.N)
	}
	return nil
}
