// Command practicemail runs the email of a small therapy practice: blog posts
// to subscribers, inquiry follow-ups and scheduled campaigns. main only wires;
// each subcommand lives in its own file.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/redis/go-redis/v9"

	_ "time/tzdata" // time zones work in minimal containers too
)

func main() {
	// practicemail waits on SMTP servers, SQL and Redis far more than it
	// computes. With a P per core, Go's scheduler spends a tenth or more of
	// the CPU of a send parking, stealing and waking threads between those
	// waits; on one P a message costs about 17% less CPU
	// (docs/performance.md). GOMAXPROCS in the environment still decides.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	// go-redis prints each failed dial to standard error on its own
	// ("redis: … pool.go:…: failed to dial"), in the middle of `status` and
	// between the log's lines. Every such failure also fails the call that
	// needed the connection, and that call's error is reported where it
	// happened, once.
	redis.SetLogger(silentRedisLog{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.Execute(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "practicemail: "+err.Error())
		os.Exit(1)
	}
}

type silentRedisLog struct{}

func (silentRedisLog) Printf(context.Context, string, ...any) {}
