package store_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/store"
)

// A recorded outcome must survive a power loss, or its message goes out
// again: SQLite syncs its log at every commit unless the URL asks otherwise.
func TestSQLiteSyncsEveryCommitUnlessTheURLSaysNormal(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		url  string
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{"sqlite:" + filepath.Join(dir, "default.db"), 2},
		{"sqlite:" + filepath.Join(dir, "full.db") + "?synchronous=full", 2},
		{"sqlite:" + filepath.Join(dir, "normal.db") + "?synchronous=NORMAL", 1},
	}
	for _, tt := range tests {
		db, err := store.Open(ctx, tt.url)
		if err != nil {
			t.Fatalf("open %s: %v", tt.url, err)
		}
		got, err := db.Pragma(ctx, "synchronous")
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s: synchronous = %d, want %d", tt.url, got, tt.want)
		}
	}
	for _, bad := range []string{"?synchronous=off", "?journal_mode=delete"} {
		_, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "bad.db")+bad)
		if err == nil || !strings.Contains(err.Error(), "synchronous") {
			t.Errorf("open with %s: err = %v, want a refusal naming synchronous", bad, err)
		}
	}
}
