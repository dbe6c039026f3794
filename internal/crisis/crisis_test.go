package crisis

import (
	"strings"
	"testing"
)

func newClassifier(t *testing.T, extra ...string) *Classifier {
	t.Helper()
	c, err := New(extra)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// TestUrgent: crisis phrasings as people write them, with the phrase each
// is expected to be caught by.
func TestUrgent(t *testing.T) {
	c := newClassifier(t)
	tests := []struct {
		msg  string
		want string // part of the phrase expected to match
	}{
		{"I've been thinking about suicide a lot lately.", "suicide"},
		{"Honestly I feel SUICIDAL most nights", "suicide"},
		{"i keep having suicde thoughts", "suicide"},
		{"sucidal thoughts again, not sure what to do", "suicide"},
		{"Suicidal—please call me", "suicide"},
		{"Sometimes I think I should just kill myself.", "myself"},
		{"i want to kil myself", "myself"},
		{"I'm scared I'll hurt myself tonight", "myself"},
		{"I have been harming my self again", "myself"},
		{"I've been cutting myself when it gets bad", "myself"},
		{"I want to unalive myself", "unalive"},
		{"I want to end my life.", "my life"},
		{"I've thought about taking my own life", "my own life"},
		{"I've been thinking about ending it all", "it all"},
		{"I started self-harming again last month", "self harm"},
		{"history of self harm, it's back", "self harm"},
		{"I took an overdose last year and I'm afraid I will again", "overdose"},
		{"i might OD this weekend", "od|"},
		{"Thinking of swallowing all my pills", "all my pills"},
		{"I can't go on like this.", "go on"},
		{"I can’t go on anymore", "go on"},
		{"i cant go on", "go on"},
		{"I can not go on.", "go on"},
		{"I cannot go on any longer", "go on"},
		{"Can't   go   on.", "go on"},
		{"“I can’t go on,” is what I keep thinking", "go on"},
		{"I feel like I can't do this anymore", "do this"},
		{"There's no reason to live anymore.", "to live"},
		{"Nothing to live for since she left", "live for"},
		{"Life isn't worth living right now", "worth living"},
		{"Everyone would be better off without me.", "without me"},
		{"I'd be better off dead", "of dead"},
		{"I just want to die.", "to die"},
		{"i wanna die", "wanna die"},
		{"I don't want to be alive anymore", "alive"},
		{"Some days I don't want to wake up.", "wake up"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			p, ok := c.match(tt.msg)
			if !ok || !strings.Contains(p, tt.want) {
				t.Errorf("match = %q, %v; want a phrase with %q", p, ok, tt.want)
			}
			if !c.Urgent(tt.msg) {
				t.Errorf("not Urgent")
			}
		})
	}
}

func TestNotUrgent(t *testing.T) {
	c := newClassifier(t)
	tests := []string{
		"I've been feeling sad for a few months and would like to talk to someone.",
		"Is ketamine treatment safe if I'm already on an antidepressant?",
		"How many ketamine sessions do people usually have?",
		"What does a ketamine-assisted session look like? Do I need a referral?",
		"My doctor changed my medicine and I feel flat and tired.",
		"I'm killing it at work but I feel numb at home.",
		"I'm dying to know whether you take my insurance.",
		"I overdid it at the gym and now I can't sleep well.",
		"My dog died last spring and I still cry about it.",
		"I can't go on Mondays; do you have Tuesday evenings?",
		"I can't go on 12/14, is 12/16 possible?",
		"I can't wait to start, honestly.",
		"I feel numb most days, and I'd like to understand why.",
		"Grief has been heavy since my father died.",
		"Do you offer somatic therapy on its own, without medicine?",
		"My partner thinks I should talk to someone about my drinking.",
		"This job is killing me, ha, but seriously I'm exhausted.",
		"I'm dying to get started, to be honest.",
		"I'd like to stop taking my medication someday, can we talk about that?",
		"That's odd, the form didn't send the first time.",
		"I'm putting myself first this year.",
		"I've been hard on myself, and I'd like to be kinder.",
		"I want to live more fully and feel things again.",
		"I have anxiety about driving; is the office near a bus stop?",
		"Could I book a consult for next week?",
	}
	for _, msg := range tests {
		t.Run(msg, func(t *testing.T) {
			if p, ok := c.match(msg); ok {
				t.Errorf("urgent (by %q): %q", p, msg)
			}
		})
	}
}

func TestExtraWords(t *testing.T) {
	c := newClassifier(t, "Walk into the sea", "  razor blades ")
	for msg, want := range map[string]bool{
		"some days I want to walk into the sea": true,
		"I keep RAZOR-BLADES in a drawer":       true,
		"a walk by the sea would be nice":       false,
	} {
		if got := c.Urgent(msg); got != want {
			t.Errorf("Urgent(%q) = %v, want %v", msg, got, want)
		}
	}
	if _, err := New([]string{"fine", " -- "}); err == nil {
		t.Error("New accepted a crisis word with no letters")
	}
}

func TestOneTypo(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"suicide", "suicide", true},
		{"suicde", "suicide", true},   // missing
		{"suiccide", "suicide", true}, // added
		{"suicida", "suicide", true},  // changed
		{"siucide", "suicide", true},  // swapped
		{"suicied", "suicide", true},  // swapped at the end
		{"suicidee", "suicide", true}, // added at the end
		{"sucde", "suicide", false},
		{"overdid", "overdose", false},
		{"", "ab", false},
	} {
		if got := oneTypo(tt.a, tt.b); got != tt.want {
			t.Errorf("oneTypo(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := oneTypo(tt.b, tt.a); got != tt.want {
			t.Errorf("oneTypo(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestKnownFalsePositives records ordinary messages that are marked urgent
// on purpose: catching every crisis matters more than an unneeded URGENT:
// in the therapist's inbox, and no phrase list can read intent.
func TestKnownFalsePositives(t *testing.T) {
	c := newClassifier(t)
	for _, msg := range []string{
		"My uncle died by suicide when I was ten.",
		"What is the overdose risk with ketamine?",
		"I hurt myself at the gym last week.",
		"I cut myself off from friends this year.",
		"I can't go on the 12th, is the 14th possible?",
		"I want to die my hair blue first.",
	} {
		if !c.Urgent(msg) {
			t.Errorf("no longer urgent: %q (if on purpose, move it to TestNotUrgent)", msg)
		}
	}
}

// FuzzUrgent: any text, however odd, is classified without panicking, and
// adding crisis language to it always makes it urgent.
func FuzzUrgent(f *testing.F) {
	for _, s := range []string{"", "can", "can’t", "o d", "ｋｉｌｌ ｍｙｓｅｌｆ", "\xff\xfe", "self-\u200bharm", "no reason to"} {
		f.Add(s)
	}
	c, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c.Urgent(s)
		if !c.Urgent(s + " I want to end my life") {
			t.Errorf("crisis language after %q not caught", s)
		}
	})
}
