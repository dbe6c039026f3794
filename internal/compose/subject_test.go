package compose

import (
	"strings"
	"testing"
)

func TestCheckSubject(t *testing.T) {
	tests := []struct {
		subject string
		want    string // in the error; "" for none
	}{
		{"Four consult openings in January", ""},
		{"A note from Stillpoint, Zoë", ""},
		{"Feeling tired this winter? A few small things that help", ""},
		{"New group starting: Tuesdays at 6", ""},
		{strings.Repeat("é", 200), ""},
		{"Openings for anxiety support", `"anxiety"`},
		{"Ketamine-assisted sessions now offered", `"ketamine"`},
		{"A space for PTSD recovery", `"PTSD"`},
		{"Working through GRIEF together", `"grief"`},
		{"Self harm: where to start", `"self-harm"`},
		{"Psychedelics and you", `"psychedelic"`},
		{"Panic attacks: a guide", `"panic"`},
		{"Kétamine clinic", `"ketamine"`},
		{"", "empty"},
		{"   ", "empty"},
		{"Two\nlines", "one line"},
		{"Carriage\rreturn", "one line"},
		{"Tab\there", "control"},
		{"Bell\x07", "control"},
		{"bad \xff utf-8", "UTF-8"},
		{strings.Repeat("a", 201), "201 characters"},
	}
	for _, tt := range tests {
		err := CheckSubject(tt.subject)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckSubject(%q) = %v, want nil", tt.subject, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckSubject(%q) = %v, want an error containing %q", tt.subject, err, tt.want)
		}
	}
}
