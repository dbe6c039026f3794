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

// refundScript takes back one event counted by allowScript: it moves the
// TAT back by one interval, and deletes the key when that leaves nothing
// to remember. KEYS[1] the key; ARGV[1] limit; ARGV[2] per µs.
var refundScript = redis.NewScript(`
local limit, per = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
tat = tat - per / limit
if tat <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', math.max(1, math.ceil((tat - now) / 1000)))
end
return 1
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

// AllowEach counts one event under every check, in one round trip to
// Redis, as if under one rule: when every rule allows it, each counts it;
// when any refuses it, none does (the rules that had counted it take it
// back, in a second round trip), and AllowEach returns the longest wait of
// those that refused. So a client over its own limit does not use up the
// allowance of the address it keeps submitting. The keys may be in
// different slots of a Redis Cluster: each check is a script of its own,
// sent together. Between the count and the take-back, another event for
// the same key may be refused that would have passed.
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
	cmds := l.run(ctx, allowScript, checks)
	ok = true
	var counted []Check
	for i, cmd := range cmds {
		name := checks[i].Rule.Name
		res, err := cmd.Int64Slice()
		if err != nil {
			return false, 0, fmt.Errorf("ratelimit %s: %w", name, err)
		}
		if len(res) != 2 {
			return false, 0, fmt.Errorf("ratelimit %s: unexpected reply %v", name, res)
		}
		if res[0] == 1 {
			counted = append(counted, checks[i])
		} else {
			ok = false
			retryAfter = max(retryAfter, time.Duration(res[1])*time.Microsecond, time.Microsecond)
		}
	}
	if !ok && len(counted) > 0 {
		for i, cmd := range l.run(ctx, refundScript, counted) {
			if err := cmd.Err(); err != nil {
				return false, retryAfter, fmt.Errorf("ratelimit %s: take back: %w", counted[i].Rule.Name, err)
			}
		}
	}
	return ok, retryAfter, nil
}

// run sends script for each check, in one pipeline (none for one check),
// and returns their commands, each with its own result or error. Those
// that find Redis has lost the script (a restart, SCRIPT FLUSH) are sent
// again once it is loaded; the others were run, and are not.
func (l *Limiter) run(ctx context.Context, script *redis.Script, checks []Check) []*redis.Cmd {
	cmds := l.send(ctx, script, checks)
	var lost []int
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			lost = append(lost, i)
		}
	}
	if len(lost) == 0 || script.Load(ctx, l.rdb).Err() != nil {
		return cmds // the NOSCRIPT errors stand
	}
	again := make([]Check, len(lost))
	for j, i := range lost {
		again[j] = checks[i]
	}
	for j, cmd := range l.send(ctx, script, again) {
		cmds[lost[j]] = cmd
	}
	return cmds
}

// send sends script for each check, in one pipeline when there are several.
func (l *Limiter) send(ctx context.Context, script *redis.Script, checks []Check) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(checks))
	eval := func(c redis.Scripter, i int) {
		ch := checks[i]
		cmds[i] = script.EvalSha(ctx, c, []string{l.prefix + ch.Rule.Name + ":" + ch.Key}, ch.Rule.Limit, ch.Rule.Per.Microseconds())
	}
	if len(checks) == 1 {
		eval(l.rdb, 0)
		return cmds
	}
	// Each command carries its own error, so Pipelined's (the first of
	// them) adds nothing.
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range checks {
			eval(p, i)
		}
		return nil
	})
	return cmds
}
