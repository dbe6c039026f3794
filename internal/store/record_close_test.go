package store_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// holdWrites takes, from a connection of its own, the lock that a write of
// delivery id needs, as a stuck process or a hung disk would hold it, and
// returns its release.
func holdWrites(t *testing.T, engine, url string, id int64) func() {
	t.Helper()
	ctx := context.Background()
	driver, dsn, begin := "pgx", url, "BEGIN"
	if engine == "sqlite" {
		driver, dsn, begin = "sqlite", "file:"+strings.TrimPrefix(url, "sqlite:"), "BEGIN IMMEDIATE"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		t.Fatal(err)
	}
	if engine == "postgres" {
		if _, err := conn.ExecContext(ctx, `SELECT id FROM deliveries WHERE id = $1 FOR UPDATE`, id); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
		conn.Close()
		raw.Close()
	}
}

// Close waits for the outcomes handed to the recorder, but not for ever:
// with a write that cannot finish (its lock held elsewhere), CloseContext
// returns when its context ends and says what was not written, and the
// outcome's Wait gets an error rather than hanging.
func TestCloseIsBoundedWhenAWriteHangs(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			ctx := context.Background()
			db, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := db.AddSubscribers(ctx, []store.NewSubscriber{{Email: "a@example.org", Topics: []string{"posts"}, Confirmed: true}}); err != nil {
				t.Fatal(err)
			}
			p, err := db.FanOut(ctx, store.KindPost, 1, "posts", 10)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.Claim(ctx, p.Batch, "w", time.Now().Add(time.Hour))
			if err != nil || len(rows) != 1 {
				t.Fatalf("claim: %v %v", rows, err)
			}
			release := holdWrites(t, engine, url, rows[0].ID)
			defer release()
			rec := db.RecordAsync("w", store.Outcome{ID: rows[0].ID, State: store.DeliverySent, Reply: "250"}, nil)

			closing, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			closed := make(chan error, 1)
			go func() { closed <- db.CloseContext(closing) }()
			select {
			case err := <-closed:
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not written") {
					t.Errorf("CloseContext = %v, want what was not written, and the deadline", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("CloseContext still waiting a minute after its deadline")
			}
			waited := make(chan error, 1)
			go func() { _, err := rec.Wait(ctx); waited <- err }()
			select {
			case err := <-waited:
				if err == nil {
					t.Error("the outcome's Wait reports it written")
				}
			case <-time.After(time.Minute):
				t.Fatal("the outcome's Wait still waiting a minute after Close")
			}
		})
	}
}
