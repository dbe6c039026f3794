package worker

import (
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// ServerOptions tune the asynq server that runs the worker's tasks; zero
// values take the defaults.
type ServerOptions struct {
	Concurrency int // tasks handled at once [asynq's: the number of CPUs]
	// QueuePoll is how often asynq looks for new and for scheduled tasks
	// when its queues are empty [100ms for new, 500ms for scheduled].
	QueuePoll time.Duration
}

// Start starts an asynq server on rdb running w's handlers, and returns it
// for Shutdown (after Stop).
func (w *Worker) Start(rdb redis.UniversalClient, o ServerOptions) (*asynq.Server, error) {
	srv := asynq.NewServerFromRedisClient(rdb, w.serverConfig(o))
	mux := asynq.NewServeMux()
	w.Register(mux)
	if err := srv.Start(mux); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return srv, nil
}

func (w *Worker) serverConfig(o ServerOptions) asynq.Config {
	log := NewAsynqLogger(w.Log)
	log.now = w.now // the one clock
	cfg := asynq.Config{
		Concurrency:     o.Concurrency,
		Queues:          Queues,
		Logger:          log,
		LogLevel:        asynq.WarnLevel,
		ShutdownTimeout: 10 * time.Second,
	}
	// asynq looks for new work every second by default when its queues are
	// empty: a post would wait up to a second between each of its steps.
	cfg.TaskCheckInterval, cfg.DelayedTaskCheckInterval = 100*time.Millisecond, 500*time.Millisecond
	if o.QueuePoll > 0 {
		cfg.TaskCheckInterval, cfg.DelayedTaskCheckInterval = o.QueuePoll, o.QueuePoll
	}
	return cfg
}
