package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/redistest"
)

// prefix names the test and the moment, so tests never share keys and the
// database need not be emptied.
func prefix(t *testing.T) string {
	return fmt.Sprintf("practicemail:test:rl:%s:%d:", t.Name(), time.Now().UnixNano())
}

func TestBurstRefusedWithRetryAfter(t *testing.T) {
	t.Parallel()
	l := New(redistest.Client(t, redistest.RateLimit), prefix(t))
	ctx := context.Background()
	rule := Rule{Name: "subscribe-ip", Limit: 5, Per: time.Minute}
	for i := range rule.Limit {
		ok, wait, err := l.Allow(ctx, rule, "192.0.2.1")
		if err != nil || !ok || wait != 0 {
			t.Fatalf("event %d of the burst: ok %v, retryAfter %v, err %v; want allowed", i+1, ok, wait, err)
		}
	}
	for i := range 3 {
		ok, wait, err := l.Allow(ctx, rule, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		// One event comes back every Per/Limit = 12 s; a refusal does not
		// push the wait further.
		if ok || wait <= 11*time.Second || wait > 12*time.Second {
			t.Errorf("knock %d past the limit: ok %v, retryAfter %v; want refused, 11s < retryAfter <= 12s", i+1, ok, wait)
		}
	}
	// Another key and another rule on the same key keep their own counts.
	for _, c := range []struct {
		rule Rule
		key  string
	}{{rule, "192.0.2.2"}, {Rule{Name: "subscribe-email", Limit: 1, Per: time.Minute}, "192.0.2.1"}} {
		if ok, _, err := l.Allow(ctx, c.rule, c.key); err != nil || !ok {
			t.Errorf("rule %s key %s: ok %v err %v; want allowed, counted apart", c.rule.Name, c.key, ok, err)
		}
	}
}

func TestSharedByTwoClients(t *testing.T) {
	t.Parallel()
	p := prefix(t)
	// Two clients on one Redis stand for two web processes.
	limiters := []*Limiter{
		New(redistest.Client(t, redistest.RateLimit), p),
		New(redistest.Client(t, redistest.RateLimit), p),
	}
	rule := Rule{Name: "subscribe-ip", Limit: 10, Per: time.Minute}
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			ok, wait, err := limiters[i%2].Allow(context.Background(), rule, "198.51.100.7")
			switch {
			case err != nil:
				t.Error(err)
			case ok:
				allowed.Add(1)
			case wait > 0:
				refused.Add(1)
			default:
				t.Error("refused without a retryAfter")
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 10 || refused.Load() != 30 {
		t.Errorf("40 events through two processes, limit 10: %d allowed, %d refused; want 10 and 30",
			allowed.Load(), refused.Load())
	}
}

func TestWindowPasses(t *testing.T) {
	t.Parallel()
	l := New(redistest.Client(t, redistest.RateLimit), prefix(t))
	ctx := context.Background()
	rule := Rule{Name: "short", Limit: 2, Per: 600 * time.Millisecond}
	for range rule.Limit {
		if ok, _, err := l.Allow(ctx, rule, "k"); err != nil || !ok {
			t.Fatalf("burst: ok %v err %v", ok, err)
		}
	}
	ok, wait, err := l.Allow(ctx, rule, "k")
	if err != nil || ok || wait <= 0 || wait > 300*time.Millisecond {
		t.Fatalf("over the limit: ok %v, retryAfter %v, err %v; want refused within 300ms", ok, wait, err)
	}
	<-time.After(wait)
	if ok, wait, err := l.Allow(ctx, rule, "k"); err != nil || !ok {
		t.Errorf("after waiting the retryAfter: ok %v, retryAfter %v, err %v; want allowed", ok, wait, err)
	}
	// Only one came back: the next is refused again.
	if ok, _, err := l.Allow(ctx, rule, "k"); err != nil || ok {
		t.Errorf("second event after one interval: ok %v err %v; want refused", ok, err)
	}
}

func TestKeysExpire(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.RateLimit)
	p := prefix(t)
	l := New(rdb, p)
	rule := Rule{Name: "subscribe-email", Limit: 3, Per: 10 * time.Second}
	ctx := context.Background()
	for range 4 {
		if _, _, err := l.Allow(ctx, rule, "3f1c0a"); err != nil {
			t.Fatal(err)
		}
	}
	key := p + "subscribe-email:3f1c0a"
	ttl, err := rdb.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Three events at once fill the whole period: the key lives until then.
	if ttl <= 9*time.Second || ttl > rule.Per {
		t.Errorf("TTL of %s = %v; want 9s < TTL <= %v", key, ttl, rule.Per)
	}
	keys, err := rdb.Keys(ctx, p+"*").Result()
	if err != nil || len(keys) != 1 {
		t.Errorf("keys under the prefix: %v (err %v); want just %s", keys, err, key)
	}
}

func TestBadRuleNilLimiterAndRedisDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var none *Limiter
	if ok, _, err := none.Allow(ctx, Rule{Name: "x", Limit: 1, Per: time.Second}, "k"); !ok || err != nil {
		t.Errorf("nil limiter: ok %v err %v; want allowed", ok, err)
	}
	l := New(redistest.Client(t, redistest.RateLimit), prefix(t))
	for _, r := range []Rule{
		{Name: "", Limit: 1, Per: time.Second},
		{Name: "x", Limit: 0, Per: time.Second},
		{Name: "x", Limit: -1, Per: time.Second},
		{Name: "x", Limit: 1, Per: 0},
		{Name: "x", Limit: 1, Per: time.Microsecond},
		{Name: "x", Limit: 1 << 30, Per: time.Minute},
	} {
		if ok, _, err := l.Allow(ctx, r, "k"); ok || !errors.Is(err, ErrBadRule) {
			t.Errorf("rule %+v: ok %v err %v; want ErrBadRule", r, ok, err)
		}
	}
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { down.Close() })
	if ok, _, err := New(down, "p:").Allow(ctx, Rule{Name: "x", Limit: 1, Per: time.Second}, "k"); ok || err == nil {
		t.Errorf("redis down: ok %v err %v; want an error and not allowed", ok, err)
	}
}

// BenchmarkAllow is one Allow round trip to Redis: the cost a limited
// request pays.
func BenchmarkAllow(b *testing.B) {
	rdb := redistest.Client(b, redistest.RateLimit)
	l := New(rdb, fmt.Sprintf("practicemail:test:rl:bench:%d:", time.Now().UnixNano()))
	rule := Rule{Name: "bench", Limit: 1 << 20, Per: time.Minute}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, _, err := l.Allow(context.Background(), rule, strconv.Itoa(i%1000)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// AllowEach counts under several rules in one round trip, as under one
// rule: an event refused by any of them is counted by none, so a client
// over its limit does not use up the allowance of the address it keeps
// submitting, nor an address over its limit the client's. It works after
// Redis has lost its scripts.
func TestAllowEachCountsAllOrNothing(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.RateLimit)
	l := New(rdb, prefix(t))
	ctx := context.Background()
	byClient := Check{Rule{Name: "subscribe-ip", Limit: 3, Per: time.Minute}, "192.0.2.9"}
	byAddress := Check{Rule{Name: "subscribe-email", Limit: 1, Per: time.Hour}, "3f1c0a"}

	if ok, wait, err := l.AllowEach(ctx, byClient, byAddress); err != nil || !ok || wait != 0 {
		t.Fatalf("first event: ok %v, retryAfter %v, err %v; want allowed", ok, wait, err)
	}
	// The address is spent for an hour (one an hour): refused, and the
	// client's count of it taken back.
	ok, wait, err := l.AllowEach(ctx, byClient, byAddress)
	if err != nil || ok || wait <= 59*time.Minute || wait > time.Hour {
		t.Fatalf("second event for the address: ok %v, retryAfter %v, err %v; want refused for about an hour", ok, wait, err)
	}
	// Redis forgets its scripts (a restart, SCRIPT FLUSH): they are sent
	// whole, and the counts go on. The client has two events left of its
	// three, not one.
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if ok, _, err := l.AllowEach(ctx, byClient); err != nil || !ok {
			t.Fatalf("event %d for the client alone: ok %v err %v; want allowed (the refused one was not counted)", i+2, ok, err)
		}
	}
	other := Check{byAddress.Rule, "other"}
	ok, wait, err = l.AllowEach(ctx, byClient, other)
	if err != nil || ok || wait <= 19*time.Second || wait > 20*time.Second {
		t.Errorf("fourth event for the client: ok %v, retryAfter %v, err %v; want refused for at most 20 s (3 a minute)", ok, wait, err)
	}
	if ok, _, err := l.Allow(ctx, other.Rule, other.Key); err != nil || !ok {
		t.Errorf("the other address, after an event the client's limit refused: ok %v err %v; want allowed (not counted)", ok, err)
	}
}
