package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// campaignDB is a database of engine whose clock stands at start, a
// whole millisecond, and its URL.
func campaignDB(t *testing.T, engine string) (url string, db *store.DB, start time.Time) {
	url = storetest.URL(t, engine)
	db = storetest.OpenAt(t, url)
	start = time.UnixMilli(time.Now().UnixMilli()).UTC()
	db.Now = func() time.Time { return start }
	return url, db, start
}

// --spread gives each recipient a slot once, evenly over the period, on
// its ledger row; a second start (another scheduler, a restart) changes
// nothing. A personal campaign's batches each share a first name.
func TestCampaignSlotsAreSpreadEvenlyOnce(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url, db, start := campaignDB(t, engine)
			ctx := context.Background()
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

// A topic:news campaign whose body has no first-name slot is started in
// one INSERT … SELECT: it fixes the same audience, in the same batches at
// the same slots, as the path that reads the audience page by page (taken
// here by a personal body whose recipients have no names, so that every
// batch shares the fallback).
func TestCampaignStartInSQLMatchesPages(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url, db, start := campaignDB(t, engine)
			ctx := context.Background()
			add := func(email string, confirmed bool, topics ...string) {
				if _, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: email, Confirmed: confirmed, Topics: topics}); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 4 {
				add(fmt.Sprintf("a%d@example.com", i), true, store.TopicNews)
			}
			add("pending@example.com", false, store.TopicNews)
			add("posts@example.com", true, store.TopicPosts)
			add("left@example.com", true, store.TopicNews)
			for i := range 3 {
				add(fmt.Sprintf("b%d@example.com", i), true, store.TopicNews, store.TopicPosts)
			}
			raw := storetest.Raw(t, url)
			if _, err := raw.Exec(`UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'left@example.com'`); err != nil {
				t.Fatal(err)
			}
			rows := func(id int64) string {
				r, err := raw.Query(rebind(raw, `SELECT recipient, subscriber_id, batch, state, next_attempt_at - ?, created_at - ?
					FROM deliveries WHERE kind = 'campaign' AND source_id = ? ORDER BY recipient`), start.UnixMilli(), start.UnixMilli(), id)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				var out []string
				for r.Next() {
					var rcpt, state string
					var sub, batch, slot, created int64
					if err := r.Scan(&rcpt, &sub, &batch, &state, &slot, &created); err != nil {
						t.Fatal(err)
					}
					out = append(out, fmt.Sprintf("%s sub=%d batch=%d %s slot=%d created=%d", rcpt, sub, batch, state, slot, created))
				}
				if err := r.Err(); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprint(out)
			}
			started := map[bool]int64{}
			var refs [2][]store.BatchRef
			for i, personal := range []bool{false, true} {
				id, err := db.CreateCampaign(ctx, store.NewCampaign{Subject: "S", Body: "b", Format: "markdown",
					Audience: store.AudienceNews, SendAt: start, Spread: 7 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				if refs[i], err = db.StartCampaign(ctx, id, 3, personal); err != nil {
					t.Fatal(err)
				}
				started[personal] = id
				c, err := db.Campaign(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if c.State != store.CampaignSending || c.AudienceSize != 7 {
					t.Fatalf("personal=%v: state %s, audience %d, want sending, 7", personal, c.State, c.AudienceSize)
				}
			}
			inSQL, paged := rows(started[false]), rows(started[true])
			if inSQL != paged {
				t.Fatalf("in SQL:\n%s\npage by page:\n%s", inSQL, paged)
			}
			for _, want := range []string{"a0@example.com", "b2@example.com", "batch=3", "slot=6000"} {
				if !strings.Contains(inSQL, want) {
					t.Fatalf("rows lack %q: %s", want, inSQL)
				}
			}
			for _, not := range []string{"pending@", "posts@", "left@", "slot=7000"} {
				if strings.Contains(inSQL, not) {
					t.Fatalf("rows have %q: %s", not, inSQL)
				}
			}
			if len(refs[0]) != 3 || fmt.Sprint(refs[0][2]) != fmt.Sprint(store.BatchRef{Kind: store.KindCampaign, SourceID: started[false], Batch: 3}) ||
				len(refs[1]) != 3 {
				t.Fatalf("batches: in SQL %v, page by page %v", refs[0], refs[1])
			}
			again, err := db.StartCampaign(ctx, started[false], 3, false)
			if err != nil || len(again) != 0 || rows(started[false]) != inSQL {
				t.Fatalf("a second start: %v, %v", again, err)
			}
		})
	}
}

// A sending campaign is marked sent once none of its own rows is queued:
// rows of its other campaign, or of another kind with the same source
// id, keep it open no more than its sent rows do.
func TestFinishCampaignsWaitsForItsOwnQueuedRows(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			url, db, start := campaignDB(t, engine)
			ctx := context.Background()
			for i := range 2 {
				if _, err := db.AddSubscriber(ctx, store.NewSubscriber{Email: fmt.Sprintf("p%d@example.com", i),
					Confirmed: true, Topics: []string{store.TopicNews}}); err != nil {
					t.Fatal(err)
				}
			}
			var ids []int64
			for range 2 {
				id, err := db.CreateCampaign(ctx, store.NewCampaign{Subject: "S", Body: "b", Format: "markdown",
					Audience: store.AudienceNews, SendAt: start})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.StartCampaign(ctx, id, 500, false); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			a, b := ids[0], ids[1]
			raw := storetest.Raw(t, url)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := raw.Exec(rebind(raw, q), args...); err != nil {
					t.Fatal(err)
				}
			}
			exec(`UPDATE deliveries SET state = 'sent' WHERE kind = 'campaign' AND source_id = ?`, a)
			exec(`UPDATE deliveries SET state = 'sent' WHERE kind = 'campaign' AND source_id = ? AND recipient = 'p0@example.com'`, b)
			exec(`INSERT INTO deliveries (kind, source_id, recipient, batch, state, created_at) VALUES ('post', ?, 'x@example.com', 1, 'queued', 0)`, b)
			state := func(id int64) string {
				c, err := db.Campaign(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				return c.State
			}
			if n, err := db.FinishCampaigns(ctx); err != nil || n != 1 || state(a) != store.CampaignSent || state(b) != store.CampaignSending {
				t.Fatalf("finished %d (%v): %s, %s; want 1: sent, sending", n, err, state(a), state(b))
			}
			exec(`UPDATE deliveries SET state = 'sent' WHERE kind = 'campaign' AND source_id = ?`, b)
			if n, err := db.FinishCampaigns(ctx); err != nil || n != 1 || state(b) != store.CampaignSent {
				t.Fatalf("finished %d (%v): %s; want 1: sent (a post's queued row with its id is not its)", n, err, state(b))
			}
		})
	}
}
