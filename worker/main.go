// Command worker consumes the numbers queue on ECS: it long-polls SQS,
// persists batches to Postgres exactly once per event id, moves poison
// messages to the dead-letter queue and deletes what is done.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on PPROF_ADDR
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/logging"
	"github.com/numbers-app/numbers/shared/metrics"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/dlq"
	"github.com/numbers-app/numbers/worker/persist"
)

// Config is the worker's configuration.
type Config struct {
	config.Common
	Migrate bool `env:"MIGRATE" envDefault:"true"`
	// KeyWindow is the proxy's IDEMPOTENCY_WINDOW: older keys are pruned.
	KeyWindow         time.Duration `env:"IDEMPOTENCY_WINDOW" envDefault:"24h"`
	Pollers           int           `env:"WORKER_POLLERS" envDefault:"4"`
	Flushers          int           `env:"WORKER_FLUSHERS" envDefault:"2"`
	FlushSize         int           `env:"WORKER_FLUSH_SIZE" envDefault:"500"`
	FlushInterval     time.Duration `env:"WORKER_FLUSH_INTERVAL" envDefault:"10ms"`
	WaitTime          time.Duration `env:"SQS_WAIT_TIME" envDefault:"20s"`
	VisibilityTimeout time.Duration `env:"SQS_VISIBILITY_TIMEOUT" envDefault:"30s"`
	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// MetricsAddr serves GET /metrics and /healthz ("": no listener;
	// 0.0.0.0:9090 in containers). If the default address is taken (another
	// worker on this machine) the worker runs without it and says so.
	MetricsAddr  string        `env:"METRICS_ADDR" envDefault:"127.0.0.1:9090"`
	EMFInterval  time.Duration `env:"METRICS_EMF_INTERVAL" envDefault:"60s"`
	EMFNamespace string        `env:"METRICS_NAMESPACE" envDefault:"numbers"`
	// PprofAddr serves net/http/pprof for profiling (debug only; "": off, the
	// default; loopback addresses only).
	PprofAddr string `env:"PPROF_ADDR"`
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
	if cfg.PprofAddr != "" { // debug only, off by default: net/http/pprof on a loopback address
		pln, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil || !pln.Addr().(*net.TCPAddr).IP.IsLoopback() {
			return fmt.Errorf("PPROF_ADDR %s: need a free loopback address (%v)", cfg.PprofAddr, err)
		}
		defer pln.Close()
		go func() { _ = (&http.Server{ReadHeaderTimeout: 5 * time.Second}).Serve(pln) }() // DefaultServeMux: only pprof's handlers
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
	reg := metrics.NewRegistry()
	reg.MustRegister(metrics.QueueDepth{Queues: map[string]metrics.DepthFunc{"main": queue.Depth, "dlq": deadLetters.Depth}})
	proc := &persist.Persister{Store: store, DLQ: deadLetters, Log: log, Now: time.Now, Metrics: metrics.NewWorker(reg)}
	consumer, err := consume.New(consume.Config{
		Pollers: cfg.Pollers, Flushers: cfg.Flushers, FlushSize: cfg.FlushSize, FlushInterval: cfg.FlushInterval,
		WaitTime: cfg.WaitTime, VisibilityTimeout: cfg.VisibilityTimeout, ShutdownTimeout: cfg.ShutdownTimeout,
	}, queue, proc, store, log)
	if err != nil {
		return err
	}
	log.Info().Str("queue", cfg.QueueURL).Str("dlq", cfg.DLQURL).Str("database", config.MaskURL(dbURL)).
		Int("pollers", cfg.Pollers).Int("flush_size", cfg.FlushSize).Msg("worker started")
	stopEMF := metrics.StartEMF(cfg.EMFInterval, cfg.EMFNamespace, cfg.LogFormat, logOut, reg, log)
	defer stopEMF()
	stopHTTP, err := serveMetrics(cfg.MetricsAddr, environ["METRICS_ADDR"] != "", reg, consumer, log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	go pruneKeys(ctx, store, cfg.KeyWindow, log)
	if err := consumer.Run(ctx); err != nil {
		return err
	}
	log.Info().Msg("worker stopped")
	return nil
}

// pruneKeys deletes expired idempotency keys every ten minutes (a cheap
// DELETE through the created_at index) until ctx ends. Several workers
// doing it at once is harmless.
func pruneKeys(ctx context.Context, store *pgstore.Store, window time.Duration, log zerolog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := store.PruneKeys(ctx, window); err != nil {
			log.Warn().Err(err).Msg("prune idempotency keys")
		} else if n > 0 {
			log.Info().Int("deleted", n).Msg("pruned expired idempotency keys")
		}
	}
}

// serveMetrics serves GET /metrics and GET /healthz on addr. When addr is
// the default (explicit is false) and taken, it logs a warning and serves
// nothing, so several local workers can run side by side.
func serveMetrics(addr string, explicit bool, reg *prometheus.Registry, c *consume.Consumer, log zerolog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if explicit {
			return nil, fmt.Errorf("listen on METRICS_ADDR %s: %w", addr, err)
		}
		log.Warn().Err(err).Str("addr", addr).Msg("metrics listener not started: set METRICS_ADDR to a free address")
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		// Alive: a paused consumer (database down) is healthy, restarting it
		// would not help; "receiving" says whether it is paused.
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","receiving":%t}`+"\n", c.Healthy())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("metrics listener failed")
		}
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg("metrics listening")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
