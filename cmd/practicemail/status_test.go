package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
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

// Only a configuration that names feeds changes the feeds table, and only
// in the commands that poll. README's way to try
// the program gives `run` its feed by environment; a `status` or
// `subscribers add` run beside it, with the file alone, used to disable that
// feed, and the running scheduler stopped polling it.
func TestAConfigurationWithoutFeedsLeavesThemAlone(t *testing.T) {
	h := newHarness(t, harnessOptions{items: []item{postItem(1)}})
	h.exec("poll") // syncs the configured feed and records its post
	bare := filepath.Join(h.dir, "bare.yaml")
	cfg, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg[:bytes.Index(cfg, []byte("feeds:"))]
	if err := os.WriteFile(bare, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status"},
		{"subscribers", "add", "someone@example.com", "--confirmed"},
		{"subscribers", "list"},
		{"migrate"},
		{"poll", "--approve"},
	} {
		if err := h.main().Execute(context.Background(), append(args, "--config", bare)); err != nil {
			t.Fatalf("practicemail %v: %v", args, err)
		}
		f, err := h.db.FeedByName(context.Background(), "blog")
		if err != nil {
			t.Fatal(err)
		}
		if !f.Enabled {
			t.Fatalf("practicemail %v with a configuration without feeds disabled the feed", args)
		}
	}
	if out := h.exec("status"); !strings.Contains(out, "feed blog") {
		t.Fatalf("status does not show the feed:\n%s", out)
	}
}
