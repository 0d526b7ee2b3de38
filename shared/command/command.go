// Package command is what the main of every numbers command does around its
// run: a context cancelled on SIGINT or SIGTERM, the error printed once after
// the command's name, and a non-zero exit status.
package command

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Main calls run with a context cancelled on SIGINT or SIGTERM. When run
// returns an error, Main prints "name: error" to stderr and exits with
// status 1.
func Main(name string, run func(ctx context.Context) error) {
	MainCode(name, func(ctx context.Context) (int, error) { return 0, run(ctx) })
}

// MainCode is Main for a run that chooses its exit status (a command that
// runs another passes its status on); an error with status 0 exits 1.
func MainCode(name string, run func(ctx context.Context) (int, error)) {
	ctx, stop := Interruptible(context.Background())
	code, err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Interruptible returns a copy of parent cancelled on SIGINT or SIGTERM (a
// command that goes on after the first Ctrl-C takes a second one with it);
// stop releases the signals.
func Interruptible(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}
