package mail

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/redistest"
)

// testRedis is a client on the mail tests' Redis database. Their keys are
// their own (named for the test and the time), so it is not emptied.
func testRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	return redistest.Client(t, redistest.Mail)
}

func TestLimiterSharedAcrossProcesses(t *testing.T) {
	rdb := testRedis(t)
	key := fmt.Sprintf("practicemail:test:rate:%d", time.Now().UnixNano())
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	// Two limiters stand for two worker processes sharing one Redis.
	limiters := []*Limiter{
		NewLimiter(rdb, 50, time.Second, WithRateKey(key)),
		NewLimiter(rdb, 50, time.Second, WithRateKey(key)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var total atomic.Int64
	var wg sync.WaitGroup
	for _, l := range limiters {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for l.Wait(ctx) == nil {
					total.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	// 2 s at 50/s plus a burst of one batch: about 105; loose bounds keep
	// a busy machine from failing the test.
	n := total.Load()
	t.Logf("allowed %d sends", n)
	if n < 60 || n > 130 {
		t.Errorf("two limiters together allowed %d sends in 2s at 50/s; want 60..130", n)
	}
}

func TestLimiterUnlimitedAndCancelled(t *testing.T) {
	if err := NewLimiter(nil, 0, time.Second).Wait(context.Background()); err != nil {
		t.Errorf("unlimited: %v", err)
	}
	var nilLimiter *Limiter
	if err := nilLimiter.Wait(context.Background()); err != nil {
		t.Errorf("nil limiter: %v", err)
	}
	rdb := testRedis(t)
	key := fmt.Sprintf("practicemail:test:rate:%d", time.Now().UnixNano())
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	l := NewLimiter(rdb, 1, time.Hour, WithRateKey(key))
	if err := l.Wait(context.Background()); err != nil {
		t.Fatalf("first token: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx); err == nil {
		t.Error("second token within the hour was granted")
	}
}

// Four processes' limiters sharing one rate stay within it, plus 5%, in
// every one-second window: each holds at most a small batch of tokens.
func TestLimiterHoldsInEverySecond(t *testing.T) {
	rdb := testRedis(t)
	key := fmt.Sprintf("practicemail:test:rate:%d", time.Now().UnixNano())
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	const rate = 200
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var mu sync.Mutex
	var at []time.Time
	var wg sync.WaitGroup
	for range 4 {
		l := NewLimiter(rdb, rate, time.Second, WithRateKey(key))
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for l.Wait(ctx) == nil {
					mu.Lock()
					at = append(at, time.Now())
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	most := 0
	for i := range at { // at is in order: appended under the lock as granted
		j := i
		for j < len(at) && at[j].Sub(at[i]) < time.Second {
			j++
		}
		most = max(most, j-i)
	}
	t.Logf("%d sends in 3 s, at most %d in one second", len(at), most)
	if most > rate*105/100 {
		t.Errorf("at most %d sends in one second at %d/s; want at most %d", most, rate, rate*105/100)
	}
}
