package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// A read of who may still be mailed that fails part-way through marks
// nobody suppressed: the task fails (asynq retries it), every row stays
// queued, and the retry sends to everyone once. Before, everyone after the
// failing row was taken for unsubscribed and suppressed for good.
func TestEligibilityReadFailingMidwaySuppressesNobody(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			db := storetest.OpenAt(t, url)
			q := testQueue(t)
			b := batchOf20(t, db)
			log := &sendLog{}
			w := testWorker(t, db, q, "a", log, func(string) time.Duration { return 0 })
			ctx := context.Background()

			restore := storetest.FailTopicReadsAt(t, url, 8)
			err := w.handleDeliver(ctx, deliverTask(b))
			if err == nil || errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("with the eligibility read failing, the task returned %v; want an error asynq retries", err)
			}
			c, err := db.Counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Deliveries[store.DeliverySuppressed] != 0 || c.Deliveries[store.DeliveryQueued] != 20 {
				t.Fatalf("after the failed read the ledger is %v; want all 20 queued, none suppressed", c.Deliveries)
			}

			restore()
			if err := w.handleDeliver(ctx, deliverTask(b)); err != nil {
				t.Fatalf("the retry: %v", err)
			}
			log.wantEachOnce(t, 20)
		})
	}
}
