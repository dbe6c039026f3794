package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/practicemail/practicemail/internal/config"
	"github.com/practicemail/practicemail/internal/store/storetest"
)

// With no redis.url and nothing on the usual port, practicemail starts its
// own redis-server with an append-only file, and stops it on Close.
func TestStartsPrivateRedis(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		storetest.Unavailable(t, "redis-server on PATH", err)
	}
	old := localRedis
	localRedis = "127.0.0.1:1" // nothing answers there
	defer func() { localRedis = old }()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.SMTP.OutboxDir = filepath.Join(dir, "outbox")
	a := &App{Config: cfg}
	ctx := context.Background()
	if err := a.openRedis(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Redis.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.redisDesc, "started by practicemail") {
		t.Fatalf("redis described as %q", a.redisDesc)
	}
	pid := a.redisChild.cmd.Process.Pid
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "redis")); err != nil {
		t.Fatalf("no redis data directory: %v", err)
	}
	if answers(a.redisChild.addr) {
		t.Fatalf("redis-server (pid %d) still answers after Close", pid)
	}
}

// Without redis-server and without a Redis, the message says how to get one.
func TestNoRedisSaysHowToInstall(t *testing.T) {
	old := localRedis
	localRedis = "127.0.0.1:1"
	defer func() { localRedis = old }()
	t.Setenv("PATH", t.TempDir())
	cfg := config.Default()
	cfg.SMTP.OutboxDir = filepath.Join(t.TempDir(), "outbox")
	err := (&App{Config: cfg}).openRedis(context.Background())
	if err == nil || !strings.Contains(err.Error(), "apt-get install redis-server") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error = %v; want one line saying how to install Redis", err)
	}
}
