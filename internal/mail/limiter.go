package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeScript is a token bucket kept in one Redis hash, so that every worker
// process shares one rate. It refills at rate tokens per second up to burst,
// hands out up to want tokens, and says how many microseconds until the next
// token when it has none. Redis's own clock is used so that the processes'
// clocks do not matter.
var takeScript = redis.NewScript(`
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(s[1]), tonumber(s[2])
if tokens == nil or ts == nil then tokens, ts = burst, now end
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000000) end
local got = math.min(want, math.floor(tokens))
tokens = tokens - got
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
local wait = 0
if got == 0 then wait = math.ceil((1 - tokens) / rate * 1000000) end
return {got, wait}
`)

// DefaultRateKey is the Redis key of the shared send rate.
const DefaultRateKey = "practicemail:rate"

// Limiter keeps every process that shares a Redis within one send rate. To
// keep Redis off the hot path, a process takes tokens in small batches (up
// to a two-hundredth of a second's worth) and hands them out locally.
//
// In any one second the processes together send at most the rate, plus the
// bucket's burst, plus one batch held by each process: with a burst and
// batches of a tenth of a second, four workers at 200/s were seen sending
// 233 in one second at the server. A burst of a fortieth of a second's
// worth and batches of a two-hundredth keep the excess within 5% for up to
// five processes (at one Redis call per 1/200 s of sending); the burst lets
// a process that wakes late take the tokens that came while it slept,
// which with a bucket of one token were lost, and the rate with them.
type Limiter struct {
	rdb   redis.UniversalClient
	key   string
	rate  float64 // tokens per second
	batch int     // tokens taken from Redis at once
	burst int     // tokens the shared bucket holds at most
	// sem guards local; holding it is the right to refill from Redis.
	sem   chan struct{}
	local int
}

// LimiterOption configures a Limiter.
type LimiterOption func(*Limiter)

// WithRateKey sets the Redis key, e.g. to separate tests or tenants.
func WithRateKey(key string) LimiterOption { return func(l *Limiter) { l.key = key } }

// NewLimiter returns a limiter allowing n sends per period across all
// processes using rdb. n == 0 means unlimited: Wait returns at once.
func NewLimiter(rdb redis.UniversalClient, n int, per time.Duration, opts ...LimiterOption) *Limiter {
	l := &Limiter{rdb: rdb, key: DefaultRateKey, sem: make(chan struct{}, 1)}
	if n > 0 && per > 0 {
		l.rate = float64(n) / per.Seconds()
		l.batch = max(1, int(l.rate/200))
		l.burst = max(l.batch, int(l.rate/40))
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Wait blocks until one send is allowed or ctx ends. A nil or unlimited
// Limiter never blocks.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil || l.rate == 0 {
		return nil
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.sem }()
	for l.local == 0 {
		if err := l.refill(ctx); err != nil {
			return err
		}
	}
	l.local--
	return nil
}

// refill takes a batch of tokens from Redis, or sleeps until the next one.
func (l *Limiter) refill(ctx context.Context) error {
	if l.rdb == nil {
		return errors.New("rate limiter: no redis")
	}
	res, err := takeScript.Run(ctx, l.rdb, []string{l.key}, l.rate, l.burst, l.batch).Int64Slice()
	if err != nil {
		return fmt.Errorf("rate limiter: %w", err)
	}
	if len(res) != 2 {
		return fmt.Errorf("rate limiter: unexpected reply %v", res)
	}
	if l.local = int(res[0]); l.local > 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(res[1]) * time.Microsecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
