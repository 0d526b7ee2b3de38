// Command worker consumes the numbers queue on ECS: it long-polls SQS,
// persists batches to Postgres exactly once per event id, moves poison
// messages to the dead-letter queue and deletes what is done.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/logging"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/dlq"
	"github.com/numbers-app/numbers/worker/persist"
)

// Config is the worker's configuration.
type Config struct {
	config.Common
	Migrate           bool          `env:"MIGRATE" envDefault:"true"`
	Pollers           int           `env:"WORKER_POLLERS" envDefault:"4"`
	Flushers          int           `env:"WORKER_FLUSHERS" envDefault:"2"`
	FlushSize         int           `env:"WORKER_FLUSH_SIZE" envDefault:"500"`
	FlushInterval     time.Duration `env:"WORKER_FLUSH_INTERVAL" envDefault:"10ms"`
	WaitTime          time.Duration `env:"SQS_WAIT_TIME" envDefault:"20s"`
	VisibilityTimeout time.Duration `env:"SQS_VISIBILITY_TIMEOUT" envDefault:"30s"`
	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], config.Environ(os.Environ()), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, environ map[string]string, stdout, logOut io.Writer) error {
	var cfg Config
	if err := config.Parse(&cfg, environ); err != nil {
		return err
	}
	if len(args) > 0 {
		if args[0] == "dlq" {
			// Operator tools: `worker dlq stats|peek|replay|export|import|purge`.
			// They need only the queues, so they skip the worker's validation.
			return dlq.Run(ctx, args[1:], cfg.Common, func(k string) string { return environ[k] }, stdout, logOut)
		}
		return fmt.Errorf("unknown command %q: the worker runs with no arguments, or `worker dlq ...`", args[0])
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.DLQURL == "" {
		return fmt.Errorf("configuration: SQS_DLQ_URL is required (poison messages go there)")
	}
	log, err := logging.New(logOut, cfg.LogLevel, cfg.LogFormat, "worker")
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	dbURL, _ := cfg.PostgresURL()
	store, err := pgstore.Open(pgstore.Config{URL: dbURL, MaxConns: cfg.DBMaxConns})
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.Migrate {
		if err := store.MigrateWithRetry(ctx, log, time.Minute); err != nil {
			return err
		}
	}
	client, err := sqsqueue.NewClient(ctx, sqsqueue.ClientConfig{Region: cfg.AWSRegion, Endpoint: cfg.SQSEndpoint})
	if err != nil {
		return err
	}
	queue := sqsqueue.Queue{API: client, URL: cfg.QueueURL}
	deadLetters := sqsqueue.Queue{API: client, URL: cfg.DLQURL}
	proc := &persist.Persister{Store: store, DLQ: deadLetters, Log: log, Now: time.Now}
	consumer, err := consume.New(consume.Config{
		Pollers: cfg.Pollers, Flushers: cfg.Flushers, FlushSize: cfg.FlushSize, FlushInterval: cfg.FlushInterval,
		WaitTime: cfg.WaitTime, VisibilityTimeout: cfg.VisibilityTimeout, ShutdownTimeout: cfg.ShutdownTimeout,
	}, queue, proc, store, log)
	if err != nil {
		return err
	}
	log.Info().Str("queue", cfg.QueueURL).Str("dlq", cfg.DLQURL).Str("database", config.MaskURL(dbURL)).
		Int("pollers", cfg.Pollers).Int("flush_size", cfg.FlushSize).Msg("worker started")
	if err := consumer.Run(ctx); err != nil {
		return err
	}
	log.Info().Msg("worker stopped")
	return nil
}
