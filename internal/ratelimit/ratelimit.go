// Package ratelimit counts events per key in Redis, so that every web
// process behind a proxy shares one count: a burst spread over several
// processes is refused as if it had reached one.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowScript is GCRA (the generic cell rate algorithm) over one Redis
// string per key: the value is the theoretical arrival time (TAT) in
// microseconds of Redis's own clock, so the web processes' clocks do not
// matter. Each event moves the TAT on by one emission interval (per/limit);
// an event is refused while it would push the TAT more than per past now,
// which allows a burst of limit and then one event every interval. A
// refusal changes nothing. The key lives until the TAT passes, after which
// it would read as fresh anyway.
//
// KEYS[1] the key; ARGV[1] limit; ARGV[2] per µs. The interval is kept
// fractional so that exactly limit events fit in a burst.
// Returns {1, 0} when allowed, {0, µs until allowed} when refused.
var allowScript = redis.NewScript(`
local limit, per = tonumber(ARGV[1]), tonumber(ARGV[2])
local interval = per / limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local next = tat + interval
local allowAt = next - per
if allowAt > now then return {0, math.ceil(allowAt - now)} end
redis.call('SET', KEYS[1], string.format('%.17g', next), 'PX', math.max(1, math.ceil((next - now) / 1000)))
return {1, 0}
`)

// Limiter is a rate limiter kept in Redis, shared by every web process.
// A nil *Limiter allows everything, for servers and tests without limits.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a limiter keeping its counts in rdb under keys starting with
// prefix (e.g. "practicemail:rl:"), followed by the rule's name and the key.
func New(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix}
}

// Rule is one limit: at most Limit events per Per for each key, refilled
// evenly (one every Per/Limit), e.g. {"subscribe-ip", 10, time.Minute}.
// Name separates the rules' counts in Redis.
type Rule struct {
	Name  string
	Limit int
	Per   time.Duration
}

// ErrBadRule is returned for a rule that could never be counted.
var ErrBadRule = errors.New("ratelimit: a rule needs a name, a positive limit, a period of at least 1ms and at most one event per µs")

// Allow counts one event for key under r. When the key is over the limit
// it returns ok false and how long until one more event would be allowed;
// the refused event is not counted, so a client that keeps knocking does
// not push its own wait further away. The key is used as given: callers
// hash what should not be stored in Redis in the clear (email addresses).
// A Redis error is returned as it is; the caller decides whether to fail
// open.
func (l *Limiter) Allow(ctx context.Context, r Rule, key string) (ok bool, retryAfter time.Duration, err error) {
	return l.AllowEach(ctx, Check{r, key})
}

// Check is one rule for one key.
type Check struct {
	Rule Rule
	Key  string
}

// AllowEach counts one event under each check, as Allow would one after
// another, in one round trip to Redis: each rule counts or refuses on its
// own. It returns ok when every check allowed its event, and otherwise the
// longest wait of those that refused theirs. The keys may be in different
// slots of a Redis Cluster: each check is a script of its own, sent
// together.
func (l *Limiter) AllowEach(ctx context.Context, checks ...Check) (ok bool, retryAfter time.Duration, err error) {
	if l == nil {
		return true, 0, nil
	}
	for _, c := range checks {
		r := c.Rule
		// Redis's clock counts microseconds: an event more often than
		// that could not be told apart.
		if r.Name == "" || r.Limit <= 0 || r.Per < time.Millisecond || r.Per.Microseconds() < int64(r.Limit) {
			return false, 0, fmt.Errorf("%w: %+v", ErrBadRule, r)
		}
	}
	cmds, err := l.run(ctx, checks, allowScript.EvalSha)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// Redis lost its scripts (a restart, SCRIPT FLUSH): send them whole.
		cmds, err = l.run(ctx, checks, allowScript.Eval)
	}
	ok = true
	for i, cmd := range cmds {
		name := checks[i].Rule.Name
		res, cerr := cmd.Int64Slice()
		if cerr != nil {
			return false, 0, fmt.Errorf("ratelimit %s: %w", name, cerr)
		}
		if len(res) != 2 {
			return false, 0, fmt.Errorf("ratelimit %s: unexpected reply %v", name, res)
		}
		if res[0] != 1 {
			ok = false
			retryAfter = max(retryAfter, time.Duration(res[1])*time.Microsecond, time.Microsecond)
		}
	}
	if err != nil { // not from any one command
		return false, 0, fmt.Errorf("ratelimit: %w", err)
	}
	return ok, retryAfter, nil
}

// run sends each check's script with send (EvalSha or Eval) in one
// pipeline, and returns their commands, whose errors are their own.
func (l *Limiter) run(ctx context.Context, checks []Check,
	send func(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(checks))
	if len(checks) == 1 { // no pipeline needed
		c := checks[0]
		cmds[0] = send(ctx, l.rdb, []string{l.prefix + c.Rule.Name + ":" + c.Key}, c.Rule.Limit, c.Rule.Per.Microseconds())
		return cmds, cmds[0].Err()
	}
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range checks {
			cmds[i] = send(ctx, p, []string{l.prefix + c.Rule.Name + ":" + c.Key}, c.Rule.Limit, c.Rule.Per.Microseconds())
		}
		return nil
	})
	return cmds, err
}
