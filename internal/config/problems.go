package config

import (
	"fmt"
	"strings"
)

// Problems is every problem found in a configuration, each one prefixed by
// the key path it is about (for example "smtp.tls: must be one of …").
// Load and Validate return it as their error so that a person fixing a
// config file sees everything that is wrong in one go.
type Problems []string

// Error lists every problem on its own line.
func (p Problems) Error() string {
	return strings.Join(p, "\n")
}

func (p *Problems) add(key, format string, args ...any) {
	*p = append(*p, key+": "+fmt.Sprintf(format, args...))
}

// orNil keeps a nil Problems from becoming a non-nil error interface.
func (p Problems) orNil() error {
	if len(p) == 0 {
		return nil
	}
	return p
}
