// Command proxy is the HTTP front of numbers on ECS: it validates writes and
// enqueues them to SQS (202 once SQS has them), serves reads from Postgres
// and the web page. Configuration is by environment variables (README).
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/proxy/httpapi"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/logging"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// Config is the proxy's configuration.
type Config struct {
	config.Common
	// HTTPAddr is where the proxy listens.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// WriteMode is "async" (enqueue, 202) or "sync" (insert per request, 201:
	// the original app's behaviour, kept as a benchmark baseline).
	WriteMode string `env:"WRITE_MODE" envDefault:"async"`
	// Migrate applies schema migrations at start (safe with several processes).
	Migrate bool `env:"MIGRATE" envDefault:"true"`
	// Send batching: see sqsqueue.PublisherConfig.
	SendLinger      time.Duration `env:"SQS_SEND_LINGER" envDefault:"2ms"`
	SendMaxInFlight int           `env:"SQS_SEND_MAX_IN_FLIGHT" envDefault:"16"`
	SendMaxPending  int           `env:"SQS_SEND_MAX_PENDING" envDefault:"1024"`
	// MaxInflightWrites bounds concurrent POSTs (503 beyond it).
	MaxInflightWrites int `env:"MAX_INFLIGHT_WRITES" envDefault:"1024"`

	// DrainDelay is how long /readyz fails before the listener closes on
	// SIGTERM, so a load balancer stops routing first.
	DrainDelay time.Duration `env:"DRAIN_DELAY" envDefault:"0s"`
	// ShutdownTimeout bounds finishing requests and pending sends.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, config.Environ(os.Environ()), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, environ map[string]string, logOut io.Writer) error {
	var cfg Config
	if err := config.Parse(&cfg, environ); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.WriteMode != "async" && cfg.WriteMode != "sync" {
		return fmt.Errorf("configuration: WRITE_MODE must be async or sync, got %q", cfg.WriteMode)
	}
	log, err := logging.New(logOut, cfg.LogLevel, cfg.LogFormat, "proxy")
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
	pub, err := sqsqueue.NewPublisher(client, sqsqueue.PublisherConfig{
		QueueURL: cfg.QueueURL, Linger: cfg.SendLinger, MaxInFlight: cfg.SendMaxInFlight, MaxPending: cfg.SendMaxPending,
	}, log)
	if err != nil {
		return err
	}
	queue := sqsqueue.Queue{API: client, URL: cfg.QueueURL}

	deps := httpapi.Deps{
		Enqueuer: events.Enqueuer{Sender: pub},
		Reader:   store,
		Checks:   map[string]httpapi.Check{"postgres": store.Ping, "sqs": queue.Ping},
		Log:      log,
	}
	deps.MaxInflightWrites = cfg.MaxInflightWrites
	if cfg.WriteMode == "sync" {
		deps.SyncWriter = store
	}
	api, err := httpapi.New(deps)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Str("write_mode", cfg.WriteMode).
		Str("database", config.MaskURL(dbURL)).Str("queue", cfg.QueueURL).Msg("proxy listening")

	select {
	case err := <-serveErr:
		pub.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info().Dur("drain_delay", cfg.DrainDelay).Msg("shutting down: readiness fails, then the listener closes")
	api.SetDraining()
	time.Sleep(cfg.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	// Handlers have returned: every Send has its answer. Close flushes
	// anything a cancelled request left behind.
	pub.Close()
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	log.Info().Msg("proxy stopped")
	return nil
}
