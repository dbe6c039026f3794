package store_test

import (
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// A group of outcomes of every kind, written together, leaves each row as
// one written alone would: on PostgreSQL the group is one pipeline of
// UPDATEs (outcomes_pg.go), on SQLite one journal INSERT.
func TestRecordGroupWritesEachOutcome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := newBatch(t, db, 4)
		rows, err := db.Claim(ctx, b, "a", time.Now().Add(time.Minute))
		must(t, err)
		retry := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
		outcomes := []store.Outcome{
			{ID: rows[0].ID, State: store.DeliverySent, Reply: "250 ok", MessageID: "<a@x>"},
			{ID: rows[1].ID, State: store.DeliveryQueued, Reply: "451 later", MessageID: "<b@x>", Next: retry},
			{ID: rows[2].ID, State: store.DeliveryFailed, Reply: "554 refused", MessageID: "<c@x>"},
			{ID: rows[3].ID, State: store.DeliveryQueued, Reply: "no answer", MessageID: "<d@x>", Next: retry, Unanswered: true},
		}
		db.RecordGroup = len(outcomes)
		var recs []*store.Recording
		for _, o := range outcomes {
			recs = append(recs, db.RecordAsync("a", o, nil))
		}
		for i, r := range recs {
			if held, err := r.Wait(ctx); err != nil || !held {
				t.Fatalf("outcome %d: held %v, %v", i, held, err)
			}
		}
		_, err = db.ReleaseLease(ctx, b, "a", time.Time{})
		must(t, err)
		ds, err := db.Deliveries(ctx, store.KindPost, 1)
		must(t, err)
		want := []struct {
			state    string
			attempts int
			sent     bool
		}{{store.DeliverySent, 1, true}, {store.DeliveryQueued, 1, false}, {store.DeliveryFailed, 1, false}, {store.DeliveryQueued, 0, false}}
		for i, d := range ds {
			w := want[i]
			if d.State != w.state || d.Attempts != w.attempts || d.SentAt.IsZero() == w.sent ||
				d.LastReply != outcomes[i].Reply || d.MessageID != outcomes[i].MessageID {
				t.Errorf("row %d: %+v; want state %s, %d attempts, sent_at set %v, reply and message ID as recorded", i, d, w.state, w.attempts, w.sent)
			}
		}
		due, ok, err := db.BatchDue(ctx, b)
		must(t, err)
		if !ok || !due.Equal(retry) {
			t.Errorf("batch due %v (%v), want the retry time %v", due, ok, retry)
		}
		// Once due, the retries are claimed again, the unanswered send
		// counted as such and not as an attempt.
		db.Now = func() time.Time { return retry.Add(time.Second) }
		again, err := db.Claim(ctx, b, "b", retry.Add(time.Minute))
		must(t, err)
		if len(again) != 2 || again[0].ID != rows[1].ID || again[0].Attempts != 2 || again[0].Unanswered != 0 ||
			again[1].ID != rows[3].ID || again[1].Attempts != 1 || again[1].Unanswered != 1 {
			t.Fatalf("claimed again %+v; want row 1 (attempt 2) and row 3 (attempt 1, 1 unanswered)", again)
		}
	})
}
