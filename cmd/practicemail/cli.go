package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/practicemail/practicemail/worker"
)

// Main is the program: its outputs, environment and, for tests, its tuning.
type Main struct {
	Stdout, Stderr io.Writer
	Env            []string // the environment, for PRACTICEMAIL_* overrides

	// Tuning for tests; zero values are the production defaults.
	WorkerOptions  worker.Options
	SchedulerTick  time.Duration // how often due feeds are looked for [1s]
	ReconcileEvery time.Duration // how often SQL and Redis are reconciled [30s]
	QueuePoll      time.Duration // how often asynq looks for new and scheduled tasks [1s]
	Started        func(*App)    // called once `run` is serving
}

// NewMain returns a Main on the process's standard streams and environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Env: os.Environ()}
}

type command struct {
	name, args, help string
	run              func(ctx context.Context, m *Main, fs *flag.FlagSet, args []string) error
}

var commands = []command{
	{"run", "", "everything in one process: HTTP server, worker and scheduler (migrates first)", cmdRun},
	{"web", "", "only the HTTP server", cmdWeb},
	{"worker", "", "only the task worker", cmdWorker},
	{"scheduler", "", "only the scheduler (one may run; a second stands by)", cmdScheduler},
	{"migrate", "", "apply database migrations and exit", cmdMigrate},
	{"poll", "[--feed NAME] [--approve [ID…] | --skip ID… | --skip-all]", "poll feeds now and say what is new; --approve sends held posts, --skip never will", cmdPoll},
	{"status", "[--json]", "subscribers, posts, deliveries, queues and feeds at a glance", cmdStatus},
	{"subscribers", "add|import|list|export …", "manage subscribers", cmdSubscribers},
}

// Execute runs the subcommand named in args.
func (m *Main) Execute(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		m.usage()
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		fs := flag.NewFlagSet("practicemail "+c.name, flag.ContinueOnError)
		fs.SetOutput(m.Stderr)
		fs.Usage = func() {
			fmt.Fprintf(m.Stderr, "usage: practicemail %s %s [--config FILE]\n%s\n", c.name, c.args, c.help)
			fs.PrintDefaults()
		}
		err := c.run(ctx, m, fs, args[1:])
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	m.usage()
	return fmt.Errorf("unknown command %q", args[0])
}

func (m *Main) usage() {
	fmt.Fprintln(m.Stderr, "usage: practicemail COMMAND [flags] [--config FILE]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(m.Stderr, "  %-12s %s\n", c.name, c.help)
	}
}

// parse parses flags, allowing them before and after positional arguments,
// and adds --config to every command.
func parse(fs *flag.FlagSet, args []string) (configPath string, rest []string, err error) {
	fs.StringVar(&configPath, "config", "", "configuration file [practicemail.yaml if present]")
	for {
		if err := fs.Parse(args); err != nil {
			return "", nil, err
		}
		if fs.NArg() == 0 {
			return configPath, rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// splitList splits "a, b,c" into its items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
