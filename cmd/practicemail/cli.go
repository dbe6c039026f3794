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
	Stdin          io.Reader // for commands that read "-"; nil: nothing to read
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
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Env: os.Environ()}
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
	{"status", "[--json] [--failures]", "subscribers, posts, deliveries, queues and feeds at a glance; --failures lists failed deliveries", cmdStatus},
	{"check", "", "check the database, Redis, SMTP (connect, TLS, login, MAIL FROM; sends nothing) and each feed", cmdCheck},
	{"subscribers", "add|import|list|export …", "manage subscribers", cmdSubscribers},
	{"bounces", "ingest …", "record bounce and complaint reports from a mail server", cmdBounces},
	{"inquiries", "list|show|stop|erase …", "read the inquiries sent through the website, stop or forget a person", cmdInquiries},
	{"mail", "ingest …", "handle mail sent back to the practice: replies stop follow-ups, reports are bounces", cmdMail},
	{"campaigns", "create|schedule|cancel|test|list|show …", "write a campaign, send it once to an audience at a time set, follow it", cmdCampaigns},
	{"preview", "sequence NAME STEP | campaign ID …", "render a step of a follow-up sequence, or a campaign, with sample data", cmdPreview},
	{"version", "", "print the version, the Go version and the source revision", cmdVersion},
}

// Execute runs the subcommand named in args. --help (or -h) anywhere among
// a command's flags prints its usage to standard output and succeeds; a
// misuse returns one line saying what is wrong and where the usage is.
func (m *Main) Execute(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no command given: choose from %s (practicemail --help says what each does)", commandNames(commands))
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] != "" && args[1][0] != '-' { // practicemail help subscribers add
			return m.Execute(ctx, append(args[1:len(args):len(args)], "--help"))
		}
		m.usage()
		return nil
	case "-version", "--version":
		args = []string{"version"}
	}
	for _, c := range commands {
		if c.name == args[0] {
			return m.run(ctx, c, args[1:])
		}
	}
	return fmt.Errorf("unknown command %q: choose from %s", args[0], commandNames(commands))
}

// run runs one command with a flag set of its own. The flag package prints
// nothing: a misuse becomes the returned error, and help goes to Stdout.
func (m *Main) run(ctx context.Context, c command, args []string) error {
	fs := flag.NewFlagSet("practicemail "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { printUsage(fs, c.args, c.help) }
	err := c.run(ctx, m, fs, args)
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(m.Stdout)
		fs.Usage()
		return nil
	case errors.As(err, &ue):
		return fmt.Errorf("%w (%s --help shows the usage)", err, fs.Name())
	}
	return err
}

// usageError is a command used wrongly: an unknown flag or subcommand, a bad
// flag value. Execute adds where the usage is.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// printUsage prints a command's usage line, what it does and its flags to
// the flag set's output. Flags are defined by the time it runs: after
// --help stopped the parse.
func printUsage(fs *flag.FlagSet, args, help string) {
	w := fs.Output()
	line := fs.Name()
	if args != "" {
		line += " " + args
	}
	if fs.Lookup("config") != nil {
		line += " [--config FILE]"
	}
	fmt.Fprintf(w, "usage: %s\n\n%s\n", line, help)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nflags:")
		fs.PrintDefaults()
	}
}

func (m *Main) usage() {
	fmt.Fprintln(m.Stdout, "usage: practicemail COMMAND [flags] [--config FILE]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(m.Stdout, "  %-12s %s\n", c.name, summary(c.help))
	}
	fmt.Fprintln(m.Stdout, "\n`practicemail COMMAND --help` shows a command's flags; --config FILE defaults to practicemail.yaml when present.")
}

// summary is the first line of a command's help, for a list of commands.
func summary(help string) string {
	first, _, _ := strings.Cut(help, "\n")
	return first
}

func commandNames(cs []command) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// subcommands runs the subcommand of a command such as `subscribers` that
// args names, with the flag set renamed for it ("practicemail subscribers
// add"), so that its --help and its errors name it.
func subcommands(ctx context.Context, m *Main, fs *flag.FlagSet, subs []command, args []string) error {
	parent := fs.Name()
	short := strings.TrimPrefix(parent, "practicemail ")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s COMMAND [flags] [--config FILE]\n\ncommands:\n", parent)
		for _, c := range subs {
			fmt.Fprintf(fs.Output(), "  %-8s %s\n", c.name, summary(c.help))
		}
		fmt.Fprintf(fs.Output(), "\n`%s COMMAND --help` shows a command's flags.\n", parent)
	}
	if len(args) == 0 {
		return usageError{fmt.Errorf("%s: say which: %s", short, commandNames(subs))}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return flag.ErrHelp
	}
	for _, c := range subs {
		if c.name == args[0] {
			fs.Init(parent+" "+c.name, flag.ContinueOnError)
			fs.Usage = func() { printUsage(fs, c.args, c.help) }
			return c.run(ctx, m, fs, args[1:])
		}
	}
	return usageError{fmt.Errorf("%s: unknown command %q: choose from %s", short, args[0], commandNames(subs))}
}

// parse parses flags, allowing them before and after positional arguments,
// and adds --config to every command. A flag that is unknown or has a bad
// value is a usageError; --help is flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) (configPath string, rest []string, err error) {
	fs.StringVar(&configPath, "config", "", "configuration file [practicemail.yaml if present]")
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", nil, err
			}
			return "", nil, usageError{err}
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
