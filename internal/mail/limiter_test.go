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
