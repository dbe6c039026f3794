package main

import (
	"testing"

	"github.com/practicemail/practicemail/internal/store"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		p    store.PostProgress
		want string
	}{
		{
			store.PostProgress{PostID: 2, Title: "New consult openings", Sent: 1234, Failed: 3, ToGo: 263},
			`post 2 "New consult openings": writing the recipient list, 1500 so far: 1234 sent, 3 failed, 0 suppressed, 263 to go`,
		},
		{
			store.PostProgress{PostID: 2, Title: "New consult openings", Sent: 4990, Failed: 3, Suppressed: 2, ToGo: 5, FanOutDone: true},
			`post 2 "New consult openings": 4990 of 5000 sent, 3 failed, 2 suppressed, 5 to go`,
		},
	}
	for _, tt := range tests {
		if got := progressLine(tt.p); got != tt.want {
			t.Errorf("progressLine(%+v)\n got %s\nwant %s", tt.p, got, tt.want)
		}
	}
}
