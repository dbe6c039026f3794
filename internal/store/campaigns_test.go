package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// --spread gives each recipient a slot once, evenly over the period, on
// its ledger row; a second start (another scheduler, a restart) changes
// nothing. A personal campaign's batches each share a first name.
func TestCampaignSlotsAreSpreadEvenlyOnce(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url := storetest.URL(t, engine)
			db := storetest.OpenAt(t, url)
			ctx := context.Background()
			start := time.UnixMilli(time.Now().UnixMilli()).UTC()
			db.Now = func() time.Time { return start }
			names := []string{"Ann Lee", "Bob", "Ann Ray", "", "Bob Roy", "ann"}
			for i, n := range names {
				if _, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: fmt.Sprintf("p%d@example.com", i), Name: n,
					Confirmed: true, Topics: []string{store.TopicNews}}); err != nil {
					t.Fatal(err)
				}
			}
			id, err := db.CreateCampaign(ctx, store.NewCampaign{Subject: "S", Body: "b", Format: "markdown",
				Audience: store.AudienceNews, SendAt: start, Spread: 6 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			batches, err := db.StartCampaign(ctx, id, 2, true)
			if err != nil {
				t.Fatal(err)
			}
			// Ann ×2 (Ann Lee, Ann Ray), Bob ×2, "", ann: four batches.
			if len(batches) != 4 {
				t.Fatalf("%d batches, want 4: %v", len(batches), batches)
			}
			firsts := map[string]bool{}
			for _, b := range batches {
				n, err := db.CampaignBatchName(ctx, id, b.Batch)
				if err != nil {
					t.Fatal(err)
				}
				firsts[n] = true
			}
			if len(firsts) != 4 || !firsts["Ann"] || !firsts["Bob"] || !firsts[""] || !firsts["ann"] {
				t.Fatalf("batch first names %v", firsts)
			}
			slots := func() map[string]int64 {
				rows, err := storetest.Raw(t, url).Query(`SELECT recipient, next_attempt_at FROM deliveries WHERE kind = 'campaign' ORDER BY id`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				out := map[string]int64{}
				for rows.Next() {
					var r string
					var at int64
					if err := rows.Scan(&r, &at); err != nil {
						t.Fatal(err)
					}
					out[r] = at - start.UnixMilli()
				}
				return out
			}
			got := slots()
			for i := range names {
				if want := int64(i) * 1000; got[fmt.Sprintf("p%d@example.com", i)] != want {
					t.Errorf("p%d's slot is %d ms after the start, want %d", i, got[fmt.Sprintf("p%d@example.com", i)], want)
				}
			}
			db.Now = func() time.Time { return start.Add(time.Minute) }
			if err := db.ScheduleCampaign(ctx, id, start); err == nil {
				t.Fatal("a sending campaign was scheduled again")
			}
			again, err := db.StartCampaign(ctx, id, 2, true)
			if err != nil || len(again) != 0 {
				t.Fatalf("a second start: %v, %v", again, err)
			}
			if fmt.Sprint(slots()) != fmt.Sprint(got) {
				t.Fatalf("slots moved: %v, then %v", got, slots())
			}
		})
	}
}
