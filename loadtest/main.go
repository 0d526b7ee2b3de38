// Command loadtest drives the async write path at a constant rate (an
// open-model vegeta attack, so queueing is not hidden), records every 202
// id, waits for the backlog to drain and reports, per accepted id, whether
// it was stored and its end-to-end lag (stored_at - accepted_at).
//
//	go run ./loadtest -target http://127.0.0.1:8080 -rate 2000 -duration 30s -report report.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/numbers-app/numbers/shared/command"
)

// Options are the command's flags.
type Options struct {
	Target       string
	Rate         int
	Duration     time.Duration
	Count        int
	Report       string
	HTML         string
	DatabaseURL  string
	DrainTimeout time.Duration
	Timeout      time.Duration
	Workers      uint64
	Quiet        bool
}

func main() {
	command.Main("loadtest", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

func parse(args []string, stderr io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Target, "target", "http://127.0.0.1:8080", "base URL of the proxy")
	fs.IntVar(&o.Rate, "rate", 2000, "posts per second (constant, open model)")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long to attack (ignored with -count)")
	fs.IntVar(&o.Count, "count", 0, "send exactly this many posts at -rate, however long it takes (0: rate × duration)")
	fs.StringVar(&o.Report, "report", "", "write the JSON report to this file")
	fs.StringVar(&o.HTML, "html", "", "write an HTML plot of latency over time to this file")
	fs.StringVar(&o.DatabaseURL, "database-url", "", "read results straight from Postgres instead of the API")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 60*time.Second, "how long to wait for accepted numbers to be stored")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.Uint64Var(&o.Workers, "workers", 64, "initial vegeta workers (it adds more when needed to hold the rate)")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress output")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.Rate < 1:
		return o, errors.New("-rate must be at least 1")
	case o.Count < 0:
		return o, errors.New("-count must not be negative")
	case o.Count == 0 && o.Duration <= 0:
		return o, errors.New("-duration must be positive")
	case o.Count >= 1<<24, o.Count == 0 && o.Rate*int(o.Duration.Seconds()+1) >= 1<<24:
		return o, errors.New("a run must stay under 16 million posts (-count, or -rate × -duration)")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	progress := io.Writer(stderr)
	if o.Quiet {
		progress = io.Discard
	}
	res, err := attack(ctx, o, progress)
	if err != nil {
		return err
	}
	// A Ctrl-C during the attack still reports; a second one ends the wait.
	drainCtx := context.WithoutCancel(ctx) //nolint:contextcheck // the drain must outlive the cancelled run, as WithoutCancel says
	if ctx.Err() != nil {
		fmt.Fprintln(progress, "\ninterrupted: reporting what was sent (Ctrl-C again to stop waiting)")
		var stop context.CancelFunc
		drainCtx, stop = command.Interruptible(context.Background())
		defer stop()
	}
	var src resultSource
	if o.DatabaseURL != "" {
		db, err := openDB(o.DatabaseURL)
		if err != nil {
			return err
		}
		defer db.Close()
		src = dbSource{db: db}
	} else {
		src = &apiSource{base: o.Target, retryUntil: res.Ended.Add(o.DrainTimeout)}
	}
	stored, drain, err := waitStored(drainCtx, src, res, o.DrainTimeout, progress)
	if err != nil {
		return err
	}
	rep := buildReport(o, res, stored, drain)
	rep.print(stdout)
	if o.Report != "" {
		if err := rep.write(o.Report); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "report written to", o.Report)
	}
	if o.HTML != "" {
		if err := res.writePlot(o.HTML); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "plot written to", o.HTML)
	}
	return nil
}
