// Package sequences loads the follow-up sequences (one YAML file each in
// sequences.dir), validates them, and decides when each step is sent.
//
// It is pure: no clock, no store, no queue. The worker enrolls a person,
// keeps the sequence's Snapshot with the enrollment, and asks SendAt when
// each step is due; at send time it checks the person's state itself.
//
// A file looks like this (every key but window and preview is required):
//
//	name: inquiry
//	window: "Mon-Fri 09:00-17:00"   # see Window for the grammar; absent: always
//	sender: "Dana at Stillpoint"    # optional display name for From
//	steps:
//	  - after: 0s                   # measured from enrollment; 0s ignores the window
//	    template: inquiry/thanks    # an email template name
//	    subject: "Thanks for reaching out"
//	    preview: "A real person will write back."   # optional inbox preview text
//
// `after` is a Go duration measured from the moment of enrollment, not from
// the previous step, so that any step's time follows from the enrollment
// alone: a reconciler that re-creates a lost task needs nothing else, and
// a step held back by the window does not push the later ones. Steps must
// come in strictly increasing order of after.
package sequences

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Sequence is one validated sequence file.
type Sequence struct {
	Name    string
	Window  Window
	Sender  string // display name for From; empty means the practice's own
	Steps   []Step
	Version string // content hash; see Snapshot
	File    string // where it was loaded from; empty for a snapshot
}

// Step is one email of a sequence.
type Step struct {
	After    time.Duration // since enrollment; 0 sends at once, ignoring the window
	Template string        // email template name, such as "inquiry/thanks"
	Subject  string
	Preview  string // inbox preview text; may be empty
}

// Immediate reports whether the step is sent the moment the person is
// enrolled, whatever the window says (after: 0s): the acknowledgement of an
// inquiry must not wait for Monday.
func (s Step) Immediate() bool { return s.After == 0 }

// SendAt returns when step i of a person enrolled at start should be sent,
// in loc (the person's time zone, else the practice's): start itself for an
// Immediate step, else Next(start+After, Window, loc).
func (s *Sequence) SendAt(i int, start time.Time, loc *time.Location) time.Time {
	st := s.Steps[i]
	if loc == nil {
		loc = time.UTC
	}
	if st.Immediate() {
		return start.In(loc)
	}
	return Next(start.Add(st.After), s.Window, loc)
}

// snapshot is the canonical form of a sequence: what Version hashes and
// what an enrollment stores.
type snapshot struct {
	Name   string         `json:"name"`
	Window string         `json:"window"`
	Sender string         `json:"sender,omitempty"`
	Steps  []snapshotStep `json:"steps"`
}

type snapshotStep struct {
	After    string `json:"after"`
	Template string `json:"template"`
	Subject  string `json:"subject"`
	Preview  string `json:"preview,omitempty"`
}

func (s *Sequence) canonical() []byte {
	snap := snapshot{Name: s.Name, Window: s.Window.String(), Sender: s.Sender}
	for _, st := range s.Steps {
		snap.Steps = append(snap.Steps, snapshotStep{After: st.After.String(), Template: st.Template, Subject: st.Subject, Preview: st.Preview})
	}
	b, err := json.Marshal(snap)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return b
}

// version is the first 16 hex digits of the SHA-256 of the canonical form:
// it changes with any step, subject, template, window or sender, and not
// with comments, key order or spacing in the file.
func version(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:8])
}

// Snapshot returns the sequence as it is now, in a compact JSON form to
// store with an enrollment. This package does not keep old versions: an
// enrollment keeps the version it started with by storing its snapshot
// (and Version, to compare cheaply) and scheduling from FromSnapshot, so
// that editing or removing a step in the file changes nothing for people
// already enrolled. Sequences are small (a few hundred bytes).
func (s *Sequence) Snapshot() []byte { return s.canonical() }

// FromSnapshot reads back a Snapshot. Its Version is that of the sequence
// it was taken from.
func FromSnapshot(b []byte) (*Sequence, error) {
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("sequence snapshot: %w", err)
	}
	w, err := ParseWindow(snap.Window)
	if err != nil {
		return nil, fmt.Errorf("sequence snapshot %s: %w", snap.Name, err)
	}
	s := &Sequence{Name: snap.Name, Window: w, Sender: snap.Sender}
	for i, st := range snap.Steps {
		d, err := time.ParseDuration(st.After)
		if err != nil {
			return nil, fmt.Errorf("sequence snapshot %s step %d: %w", snap.Name, i+1, err)
		}
		s.Steps = append(s.Steps, Step{After: d, Template: st.Template, Subject: st.Subject, Preview: st.Preview})
	}
	s.Version = version(s.canonical())
	return s, nil
}
