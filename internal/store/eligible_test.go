package store_test

import (
	"testing"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// A read of who may be mailed that fails part-way is an error, never a
// shorter list: the caller would take everyone after the failure for
// unsubscribed and mark them suppressed for good.
func TestEligibleReportsAReadFailingMidway(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			db := storetest.OpenAt(t, url)
			addSubscribers(t, db, 10, store.StatusActive, store.TopicPosts)
			ids := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
			restore := storetest.FailTopicReadsAt(t, url, 6)
			got, err := db.Eligible(ctx, store.TopicPosts, ids)
			if err == nil {
				t.Fatalf("Eligible returned %d of 10 eligible and no error; the read failed at subscriber 6", len(got))
			}
			restore()
			got, err = db.Eligible(ctx, store.TopicPosts, ids)
			if err != nil || len(got) != 10 {
				t.Fatalf("after the failure passed: %d eligible, %v; want 10", len(got), err)
			}
		})
	}
}
