package worker

import (
	"fmt"
	"slices"

	"github.com/hibiken/asynq"
)

// QueueSize is one task queue's tasks by state.
type QueueSize struct {
	Pending, Active, Scheduled, Retry, Archived int
}

// QueueSizes reads the size of each of Queues from Redis. A queue that has
// never held a task does not exist in Redis yet and is left out; any other
// error (Redis unreachable) is returned with what was read before it.
func QueueSizes(insp *asynq.Inspector) (map[string]QueueSize, error) {
	existing, err := insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	out := map[string]QueueSize{}
	for q := range Queues {
		if !slices.Contains(existing, q) {
			continue
		}
		info, err := insp.GetQueueInfo(q)
		if err != nil {
			return out, fmt.Errorf("queue %s: %w", q, err)
		}
		out[q] = QueueSize{info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived}
	}
	return out, nil
}
