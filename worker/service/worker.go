package service

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/metrics"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/worker/consume"
)

// Config is the ECS worker's configuration (environment variables; README).
// A field without envDefault takes its default from the constant of the
// package that owns it (WithDefaults), so each default is written once.
type Config struct {
	config.Common
	// Migrate applies schema migrations at start (safe with several
	// processes).
	Migrate bool `env:"MIGRATE" envDefault:"true"`
	// KeyWindow is the proxy's IDEMPOTENCY_WINDOW: older keys are pruned.
	// Defaults to number.DefaultKeyWindow.
	KeyWindow time.Duration `env:"IDEMPOTENCY_WINDOW"`
	// The consumer's knobs, each with its env tag there; each defaults to
	// its consume.Default… constant.
	consume.Config
	// MetricsAddr serves GET /metrics and /healthz ("": no listener;
	// 0.0.0.0:9090 in containers). If the default address is taken (another
	// worker on this machine) the worker runs without it and says so.
	MetricsAddr string `env:"METRICS_ADDR" envDefault:"127.0.0.1:9090"`
	config.EMF
}

// WithDefaults returns c with every zero field that has a default set to
// it, from the constants of the packages that own them. NewWorker calls it.
func (c Config) WithDefaults() Config {
	c.KeyWindow = cmp.Or(c.KeyWindow, number.DefaultKeyWindow)
	c.Config = c.Config.WithDefaults()
	return c
}

// Validate names the first bad field.
// A zero field that has a default is judged by its default (WithDefaults),
// so a configuration can be validated as parsed.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if c.DLQURL == "" {
		return ErrNoDLQ
	}
	// The consumer's settings too, before anything connects: with the
	// database down, a bad SQS_WAIT_TIME was only reported once it came up.
	return c.Config.Validate()
}

// WorkerOptions say how the ECS worker process lives.
type WorkerOptions struct {
	// MetricsAddrExplicit is true when METRICS_ADDR was set: then a taken
	// address is an error, not a warning.
	MetricsAddrExplicit bool
	// LogOut receives EMF metrics lines (the process's log output).
	LogOut io.Writer
}

// Worker is the ECS worker: the persist core fed by the consumer loop, with
// key pruning and the metrics listener.
type Worker struct {
	Core     *Core
	Consumer *consume.Consumer
	cfg      Config
	opts     WorkerOptions
	log      zerolog.Logger
}

// NewWorker builds the core and the consumer. Close releases them.
func NewWorker(ctx context.Context, cfg Config, log zerolog.Logger, opts WorkerOptions) (*Worker, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	core, err := NewCore(ctx, cfg.Common, log, Options{Migrate: cfg.Migrate})
	if err != nil {
		return nil, err
	}
	queue := sqsqueue.Queue{API: core.Client, URL: cfg.QueueURL}
	core.Registry.MustRegister(metrics.QueueDepth{Queues: map[string]number.DepthFunc{"main": queue.Depth, "dlq": core.DLQ.Depth}})
	consumer, err := consume.New(cfg.Config, receiveCounter{Queue: queue, sizes: core.Metrics.ReceiveBatch}, core.Persister, core.Store, log)
	if err != nil {
		core.Close()
		return nil, err
	}
	if opts.LogOut == nil {
		opts.LogOut = io.Discard
	}
	return &Worker{Core: core, Consumer: consumer, cfg: cfg, opts: opts, log: log}, nil
}

// Close closes the store.
func (w *Worker) Close() { w.Core.Close() }

// receiveCounter records how many events each ReceiveMessage brought (an
// aggregated message counts its event_count): the SDK's cost is per call,
// so this says what a write costs in calls.
type receiveCounter struct {
	sqsqueue.Queue
	sizes prometheus.Observer
}

func (q receiveCounter) Receive(ctx context.Context, maxMessages int, wait time.Duration) ([]message.Message, error) {
	msgs, err := q.Queue.Receive(ctx, maxMessages, wait)
	if err == nil {
		n := 0
		for _, m := range msgs {
			n += events.Count(m)
		}
		q.sizes.Observe(float64(n))
	}
	return msgs, err
}

// Run serves metrics, prunes expired idempotency keys and consumes until
// ctx ends, then shuts down within the consumer's bounds.
func (w *Worker) Run(ctx context.Context) error {
	w.log.Info().Str("queue", w.cfg.QueueURL).Str("dlq", w.cfg.DLQURL).Str("database", w.cfg.PostgresURLForLog()).
		Int("pollers", w.cfg.Pollers).Int("flush_size", w.cfg.FlushSize).Msg("worker started")
	stopEMF := metrics.StartEMF(w.cfg.EMFInterval, w.cfg.EMFNamespace, w.cfg.LogFormat, w.opts.LogOut, w.Core.Registry, w.log) //nolint:contextcheck // the EMF flusher runs until stopEMF, not until ctx ends: it writes the last figures after ctx is done
	defer stopEMF()
	stopHTTP, err := w.serveMetrics() //nolint:contextcheck // the metrics listener serves until stopHTTP, after the consumer has drained
	if err != nil {
		return err
	}
	defer stopHTTP()
	pctx, stopPrune := context.WithCancel(ctx)
	pruned := make(chan struct{})
	go func() { defer close(pruned); w.pruneKeys(pctx) }()
	defer func() { stopPrune(); <-pruned }()
	if err := w.Consumer.Run(ctx); err != nil {
		return err
	}
	w.log.Info().Msg("worker stopped")
	return nil
}

// pruneKeys deletes expired idempotency keys every ten minutes (a cheap
// DELETE through the created_at index) until ctx ends. Several workers
// doing it at once is harmless.
func (w *Worker) pruneKeys(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := w.Core.Store.PruneKeys(ctx, w.cfg.KeyWindow); err != nil {
			w.log.Warn().Err(err).Msg("prune idempotency keys")
		} else if n > 0 {
			w.log.Info().Int("deleted", n).Msg("pruned expired idempotency keys")
		}
	}
}

// Health is the body of GET /healthz.
type Health struct {
	// State is always "ok" while the worker runs: a worker waiting out a
	// database outage is doing the right thing, and restarting it would
	// only hand its held messages back to SQS.
	State string `json:"status"`
	consume.Status
}

// Handler serves GET /metrics and GET /healthz.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.Core.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(Health{State: "ok", Status: w.Consumer.Status()})
	})
	return mux
}

// serveMetrics serves Handler on MetricsAddr. When the address is the
// default (not explicit) and taken, it logs a warning and serves nothing,
// so several local workers can run side by side.
func (w *Worker) serveMetrics() (stop func(), err error) {
	addr := w.cfg.MetricsAddr
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr) //nolint:noctx // a listener lives until Close, not for a context
	if err != nil {
		if w.opts.MetricsAddrExplicit {
			return nil, fmt.Errorf("listen on METRICS_ADDR %s: %w", addr, err)
		}
		w.log.Warn().Err(err).Str("addr", addr).Msg("metrics listener not started: set METRICS_ADDR to a free address")
		return func() {}, nil
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Error().Err(err).Msg("metrics listener failed")
		}
	}()
	w.log.Info().Str("addr", ln.Addr().String()).Msg("metrics listening")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
