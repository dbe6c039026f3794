// Package redistest gives tests a Redis database of their own on the test
// server (Addr). Packages whose tests run at the same time use
// different databases; an environment variable moves each, so that two
// copies of the tests can run side by side.
package redistest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/store/storetest"
)

// Addr is the test Redis server: PRACTICEMAIL_TEST_REDIS_ADDR, or
// 127.0.0.1:6379. (A server of its own lets a copy of the tests use
// database numbers past the default server's 16.)
func Addr() string {
	if a := os.Getenv("PRACTICEMAIL_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Database is one Redis database number the tests use.
type Database struct {
	env string // the variable that picks another number
	def int
}

// The databases of the packages whose tests use Redis.
var (
	Commands = Database{"PRACTICEMAIL_TEST_REDIS_DB", 10}        // cmd/practicemail
	Worker   = Database{"PRACTICEMAIL_TEST_REDIS_DB_WORKER", 11} // worker
	Mail     = Database{"PRACTICEMAIL_TEST_REDIS_DB_MAIL", 12}   // internal/mail
	// RateLimit's keys are named for each test, so it is never emptied.
	RateLimit = Database{"PRACTICEMAIL_TEST_REDIS_DB_RATELIMIT", 13} // internal/ratelimit
)

// Number is d's database number: its environment variable's value, or its
// default.
func (d Database) Number() int {
	if n, err := strconv.Atoi(os.Getenv(d.env)); err == nil {
		return n
	}
	return d.def
}

// URL is d's redis:// URL, for a configuration.
func (d Database) URL() string { return fmt.Sprintf("redis://%s/%d", Addr(), d.Number()) }

// DB returns a client on d, emptied, closed when the test ends. Without a
// Redis answering it skips the test, or fails it when CI=true.
func DB(t testing.TB, d Database) *redis.Client {
	t.Helper()
	rdb := Client(t, d)
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("empty redis database %d: %v", d.Number(), err)
	}
	return rdb
}

// Client returns a client on d as it is, closed when the test ends: for a
// second client on a database DB emptied, or for tests whose keys are
// their own. Without a Redis answering it skips the test, or fails it when
// CI=true.
func Client(t testing.TB, d Database) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: Addr(), DB: d.Number()})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		storetest.Unavailable(t, fmt.Sprintf("Redis database %d at %s", d.Number(), Addr()), err)
	}
	return rdb
}
