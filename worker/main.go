// Command worker consumes the numbers queue on ECS: it long-polls SQS,
// persists batches to Postgres exactly once per event id, moves poison
// messages to the dead-letter queue and deletes what is done. `worker dlq`
// inspects and replays the dead-letter queue; `worker help` lists both and
// the environment variables it reads.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/numbers-app/numbers/shared/command"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/gctune"
	"github.com/numbers-app/numbers/shared/logging"
	"github.com/numbers-app/numbers/shared/profiling"
	"github.com/numbers-app/numbers/worker/dlq/dlqcli"
	"github.com/numbers-app/numbers/worker/service"
)

func main() {
	command.Main("worker", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], config.Environ(os.Environ()), os.Stdout, os.Stderr)
	})
}

func run(ctx context.Context, args []string, environ map[string]string, stdout, logOut io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			return usage(stdout)
		}
	}
	var cfg service.Config
	if err := config.Parse(&cfg, environ); err != nil {
		return err
	}
	if len(args) > 0 {
		if args[0] == "dlq" {
			// Operator tools: `worker dlq stats|peek|replay|export|import|purge`.
			// They need only the queues, so they skip the worker's validation.
			return dlqcli.Run(ctx, args[1:], cfg.Common, func(k string) string { return environ[k] }, stdout, logOut)
		}
		return fmt.Errorf("unknown command %q: the worker runs with no arguments, or `worker dlq ...` (see `worker help`)", args[0])
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := logging.New(logOut, cfg.LogLevel, cfg.LogFormat, "worker")
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	gctune.Apply(func(k string) string { return environ[k] }, log)
	stopPprof, err := profiling.Serve(cfg.PprofAddr) // debug only, off by default
	if err != nil {
		return err
	}
	defer stopPprof()
	// A METRICS_ADDR the operator set must be served (a taken one is an
	// error); one `make run` chose (METRICS_ADDR_OPTIONAL=true) may be
	// skipped with a warning if another process took it meanwhile.
	_, explicit := environ["METRICS_ADDR"]
	explicit = explicit && environ["METRICS_ADDR_OPTIONAL"] != "true"
	w, err := service.NewWorker(ctx, cfg, log, service.WorkerOptions{MetricsAddrExplicit: explicit, LogOut: logOut})
	if err != nil {
		return err
	}
	defer w.Close()
	return w.Run(ctx)
}
