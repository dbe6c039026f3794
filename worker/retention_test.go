package worker

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/store"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// What a person wrote never reaches Redis nor a log line, at any moment of
// the inquiry's life: a scanner reads every key (its DUMP, and its value
// read plainly, as DUMP may compress) while the inquiry is queued,
// processed, notified and followed up; the logs are read at the end. The
// notification does carry it: the phrase is real.
func TestMessageNeverInRedisNorLogs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newInquiryRig(t, db)
		r.inquire(t, "gil@example.org", "Dear practice, "+phrase+".", true)
		// The scanner finds the phrase where it is, even in a long value
		// that DUMP compresses.
		probe := strings.Repeat(phrase+" ", 40)
		r.rdb.HSet(ctx, "probe", "f", probe)
		if k := keyHolding(ctx, r.rdb, phrase); k != "probe" {
			t.Fatalf("the scanner missed a planted phrase: found %q", k)
		}
		r.rdb.Del(ctx, "probe")
		scanRedis(t, r.rdb) // queued, before any worker ran
		stop, found := make(chan struct{}), make(chan string, 1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if k := keyHolding(ctx, r.rdb, phrase); k != "" {
					found <- k
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		r.start(t)
		waitFor(t, "every email", func() bool { return len(r.to(t, "gil@example.org")) == 3 && len(r.to(t, notifyTo)) == 1 })
		close(stop)
		wg.Wait()
		select {
		case k := <-found:
			t.Fatalf("the message is in Redis key %q", k)
		default:
		}
		scanRedis(t, r.rdb)
		if !strings.Contains(r.to(t, notifyTo)[0].TextPart, phrase) {
			t.Fatal("the notification lacks the message: the scan proves nothing")
		}
		if logs := r.logs.String(); strings.Contains(logs, phrase) || !strings.Contains(logs, "inquiry_processed") {
			t.Errorf("the logs hold the message, or hold nothing:\n%s", logs)
		}
	})
}

func scanRedis(t *testing.T, rdb *redis.Client) {
	t.Helper()
	if k := keyHolding(context.Background(), rdb, phrase); k != "" {
		t.Fatalf("the message is in Redis key %q", k)
	}
}

// keyHolding returns a key of rdb whose DUMP or value holds s, or "".
func keyHolding(ctx context.Context, rdb *redis.Client, s string) string {
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		return ""
	}
	for _, k := range keys {
		dump, _ := rdb.Dump(ctx, k).Result()
		var vals []string
		switch typ, _ := rdb.Type(ctx, k).Result(); typ {
		case "string":
			v, _ := rdb.Get(ctx, k).Result()
			vals = []string{v}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				vals = append(vals, f, v)
			}
		case "list":
			vals = rdb.LRange(ctx, k, 0, -1).Val()
		case "set":
			vals = rdb.SMembers(ctx, k).Val()
		case "zset":
			vals = rdb.ZRange(ctx, k, 0, -1).Val()
		}
		if strings.Contains(k+dump+strings.Join(vals, "\x00"), s) {
			return k
		}
	}
	return ""
}

// The retention task deletes the messages of inquiries older than the
// retention by the database's clock, and keeps younger ones and the rows.
func TestRetentionDeletesExpiredMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		db.Now = clock.Now
		r := newInquiryRig(t, db)
		r.w.Options.InquiryRetention = 72 * time.Hour
		old := r.inquire(t, "hal@example.org", "Old.", false)
		clock.Add(48 * time.Hour)
		young := r.inquire(t, "ida@example.org", "Young.", false)
		clock.Add(25 * time.Hour) // old is 73h old, young 25h
		if err := r.w.handleRetention(ctx, NewRetentionTask("", clock.Now())); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			id      int64
			deleted bool
		}{{old.InquiryID, true}, {young.InquiryID, false}} {
			q, err := db.Inquiry(ctx, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if (q.Message == nil) != c.deleted || q.MessageDeletedAt.IsZero() != !c.deleted {
				t.Errorf("inquiry %d: message %d bytes, deleted at %v; want deleted %v", c.id, len(q.Message), q.MessageDeletedAt, c.deleted)
			}
		}
	})
}

// The leader enqueues the retention task every round, and Redis holds one
// per hour however many rounds there are; without inquiries, none.
func TestRetentionIsEnqueuedOncePerPeriod(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	r := newInquiryRig(t, db)
	for range 3 {
		if err := r.w.enqueueRetention(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := r.w.Inspector.ListPendingTasks(QueueControl)
	if err != nil || len(tasks) != 1 || tasks[0].Type != TypeRetention {
		t.Fatalf("pending control tasks = %d, %v; want one retention task", len(tasks), err)
	}
	r.w.Inquiries = Inquiries{}
	if _, err := r.w.Inspector.DeleteAllPendingTasks(QueueControl); err != nil {
		t.Fatal(err)
	}
	if err := r.w.enqueueRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if tasks, _ := r.w.Inspector.ListPendingTasks(QueueControl); len(tasks) != 0 {
		t.Errorf("a worker without inquiries enqueued %d tasks", len(tasks))
	}
}
