// Command practicemail runs the email of a small therapy practice: blog posts
// to subscribers, inquiry follow-ups and scheduled campaigns. main only wires;
// each subcommand lives in its own file.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // time zones work in minimal containers too
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.Execute(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "practicemail: "+err.Error())
		os.Exit(1)
	}
}
