package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// BenchmarkRecord measures writing one message's outcome on SQLite, with
// four senders on four batches handing their outcomes over together, as
// the worker does with four connections.
func BenchmarkRecord(b *testing.B) {
	const senders, batch = 4, 500
	rows := (b.N/(senders*batch) + 1) * senders * batch // every outcome has a row of its own
	db := storetest.Open(b, "sqlite")
	ctx := context.Background()
	var subs []store.NewSubscriber
	for i := range rows {
		subs = append(subs, store.NewSubscriber{Email: fmt.Sprintf("reader%06d@example.org", i), Topics: []string{"posts"}, Confirmed: true})
	}
	if _, err := db.AddSubscribers(ctx, subs); err != nil {
		b.Fatal(err)
	}
	var claimed [][]store.Claimed
	for {
		p, err := db.FanOut(ctx, store.KindPost, 1, "posts", batch)
		if err != nil {
			b.Fatal(err)
		}
		if p.Done {
			break
		}
		c, err := db.Claim(ctx, p.Batch, "w", time.Now().Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		claimed = append(claimed, c)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += senders {
		var rs []*store.Recording
		for s := range senders {
			own := claimed[(i/(batch*senders))*senders+s]
			r := own[(i/senders)%batch]
			rs = append(rs, db.RecordAsync("w", store.Outcome{ID: r.ID, State: store.DeliverySent,
				Reply: "2.0.0 Ok: queued as 4Bx2Kq0zYHz1xyz", MessageID: fmt.Sprintf("<d%d.post1.abcdefgh@example.org>", r.ID)}, nil))
		}
		for _, r := range rs {
			if _, err := r.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}
