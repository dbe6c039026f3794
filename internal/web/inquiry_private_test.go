package web

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/ratelimit"
	"github.com/practicemail/practicemail/internal/redistest"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// asynqQueue enqueues inquiries as the worker does: a real task in Redis
// whose payload is the inquiry id.
type asynqQueue struct{ c *asynq.Client }

func (q asynqQueue) EnqueueInquiry(ctx context.Context, id int64) error {
	p, err := json.Marshal(map[string]int64{"inquiry_id": id})
	if err != nil {
		return err
	}
	_, err = q.c.EnqueueContext(ctx, asynq.NewTask("inquiry:received", p), asynq.Queue("web-private-test"))
	return err
}

// phrase is the distinctive text of the messages below.
const phrase = "periwinkle lighthouse sorrow 7Q"

// A distinctive phrase of an inquiry's message is in no log line, no Redis
// key or value (every key of every database DUMPed) and no SQLite file,
// whatever became of the inquiry: taken by the form, taken as JSON and
// urgent, refused for a bad field, refused by the per-address limit.
func TestInquiryMessageNeverLeaks(t *testing.T) {
	rdb := redistest.Client(t, redistest.RateLimit)
	client := asynq.NewClientFromRedisClient(rdb)
	prefix := "practicemail:test:web:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	rules := DefaultRules
	rules.InquiryEmail = ratelimit.Rule{Name: "inquiry-email", Limit: 2, Per: time.Hour}
	dbURL := storetest.URL(t, "sqlite")
	e, _ := inquiryEnv(t, dbURL, func(s *Server) {
		s.Limiter, s.Rules, s.InquiryQueue = ratelimit.New(rdb, prefix), rules, asynqQueue{client}
	})
	msg := "Since the accident I feel nothing. " + phrase + ". Some nights I want to end my life."
	codes := []int{
		e.postForm("/inquiries", url.Values{"name": {"Kit"}, "email": {"kit@example.com"}, "message": {msg},
			"preferred_time": {"mornings, " + phrase}, "consent": {"yes"}, "ts": {e.inquiryStamp()}}).code,
		e.do("POST", "/inquiries", jsonType, `{"name":"Kit","email":"kit@example.com","message":"`+msg+`","consent":true}`).code,
		e.do("POST", "/inquiries", jsonType, `{"name":"Kit","email":"kit@example.com","message":"`+msg+`"}`).code,
		e.do("POST", "/inquiries", jsonType, `{"name":"Kit","email":"kit@example.com","message":"`+msg+`","time_zone":"Nowhere/`+phrase+`"}`).code,
	}
	if want := []int{202, 202, 429, 400}; !equalInts(codes, want) {
		t.Fatalf("statuses = %v, want %v", codes, want)
	}
	if n := len(e.inquiries()); n != 2 {
		t.Fatalf("%d inquiries, want 2", n)
	}
	if l := e.logs.String(); strings.Contains(l, phrase) || !strings.Contains(l, "inquiry_received") {
		t.Errorf("the log holds the phrase, or says nothing:\n%s", l)
	}
	keys := dumpEveryKey(t, rdb)
	if keys < 3 { // two rate counters and the task, at least
		t.Errorf("only %d Redis keys: nothing was checked", keys)
	}
	matches, _ := filepath.Glob(strings.TrimPrefix(dbURL, "sqlite:") + "*") // the file, its WAL
	var all strings.Builder
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	if strings.Contains(all.String(), phrase) || !strings.Contains(all.String(), "kit@example.com") {
		t.Errorf("the SQLite files (%d) hold the phrase, or lack the contact", len(matches))
	}
	for _, s := range e.inquiries() {
		if in, text, _ := e.opened(s.ID); !in.Urgent || !strings.Contains(text, phrase) {
			t.Errorf("inquiry %d: urgent %v, or its message does not open", s.ID, in.Urgent)
		}
	}
}

// dumpEveryKey DUMPs every key of every database of the test Redis and
// fails when one holds the phrase; it returns how many keys it read.
func dumpEveryKey(t *testing.T, base *redis.Client) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for db := range 16 {
		opt := *base.Options()
		opt.DB = db
		c := redis.NewClient(&opt)
		iter := c.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			v, err := c.Dump(ctx, k).Result()
			if err != nil && err != redis.Nil {
				t.Fatalf("DUMP %s: %v", k, err)
			}
			if strings.Contains(k, phrase) || strings.Contains(v, phrase) {
				t.Errorf("Redis key %q (db %d) holds the phrase", k, db)
			}
			n++
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	return n
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
