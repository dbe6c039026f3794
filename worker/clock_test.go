package worker

import (
	"context"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store/storetest"
)

// The worker keeps the time by its database's clock, the one clock of the
// process: a lease it takes is dated by the same clock SQL judges it with.
// With the database's clock an hour ahead of the worker's, a lease dated by
// the worker's own expired the moment it was taken, and a second sender
// took the batch from under a live one and sent its message again.
func TestLeasesKeepTheDatabasesClock(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	q := testQueue(t)
	b := batchOf20(t, db)
	db.Now = func() time.Time { return time.Now().Add(time.Hour) }
	log := &sendLog{}
	started, release := make(chan struct{}), make(chan struct{})
	a := testWorker(t, db, q, "a", log, func(to string) time.Duration {
		if to == "p3@example.com" {
			close(started)
			<-release
		}
		return 0
	})
	other := testWorker(t, db, q, "b", log, func(string) time.Duration { return 0 })
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- a.handleDeliver(ctx, deliverTask(b)) }()
	<-started
	if err := other.handleDeliver(ctx, deliverTask(b)); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	log.wantEachOnce(t, 20)
}
