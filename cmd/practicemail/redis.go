package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/practicemail/practicemail/internal/config"
)

// localRedis is where a Redis is looked for when redis.url is empty.
var localRedis = "127.0.0.1:6379"

// openRedis connects to redis.url; without one, to a Redis on 127.0.0.1:6379
// if it answers; else to a private redis-server started as a child, keeping
// its data (append-only file) in redis/ beside the outbox (data/redis by default).
func (a *App) openRedis(ctx context.Context) error { return a.connectRedis(ctx, true) }

// connectRedis is openRedis; a read-only command (status, check) passes
// start false, and starts no Redis of its own.
func (a *App) connectRedis(ctx context.Context, start bool) error {
	url := a.Config.Redis.URL
	switch {
	case url != "":
		a.redisDesc = redactURL(url)
	case answers(localRedis):
		url, a.redisDesc = "redis://"+localRedis+"/0", "redis://"+localRedis+" (found running)"
	case !start:
		return fmt.Errorf("redis.url is empty and no Redis answers on %s (run starts its own redis-server)", localRedis)
	default:
		child, err := startRedisChild(ctx, filepath.Join(a.dataDir(), "redis"))
		if err != nil {
			return err
		}
		a.redisChild = child
		url, a.redisDesc = "redis://"+child.addr+"/0", fmt.Sprintf("redis://%s (started by practicemail, data in %s)", child.addr, child.dir)
	}
	opt, err := config.Redis{URL: url}.ConnOpt()
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return errors.New("redis.url: unsupported connection kind")
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return fmt.Errorf("redis at %s does not answer: %w", a.redisDesc, err)
	}
	a.Redis = rdb
	a.Queue = asynq.NewClientFromRedisClient(rdb)
	a.Inspector = asynq.NewInspectorFromRedisClient(rdb)
	return nil
}

func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	return n > 0 && (buf[0] == '+' || buf[0] == '-') // -NOAUTH is a Redis too
}

// redisChild is a redis-server practicemail started for itself.
type redisChild struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	done chan error
}

func startRedisChild(ctx context.Context, dir string) (*redisChild, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("no Redis: nothing answers on " + localRedis + " and redis-server is not installed. " +
			"Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set redis.url")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("redis data directory: %w", err)
	}
	abs, _ := filepath.Abs(dir)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &redisChild{addr: "127.0.0.1:" + strconv.Itoa(port), dir: abs, done: make(chan error, 1)}
	c.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", abs,
		"--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", filepath.Join(abs, "redis.log"))
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for !answers(c.addr) {
		select {
		case err := <-c.done:
			return nil, fmt.Errorf("redis-server exited at start (%v); see %s", err, filepath.Join(abs, "redis.log"))
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, errors.New("redis-server did not answer within 10s; see " + filepath.Join(abs, "redis.log"))
		}
	}
	return c, nil
}

// stop asks redis-server to finish (it flushes its append-only file) and waits.
func (c *redisChild) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for redis-server: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
