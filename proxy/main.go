// Command proxy is the HTTP front of numbers on ECS: it validates writes and
// enqueues them to SQS (202 once SQS has them), serves reads from Postgres
// and the web page. Configuration is by environment variables (README).
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/command"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/gctune"
	"github.com/numbers-app/numbers/shared/logging"
	"github.com/numbers-app/numbers/shared/metrics"
	"github.com/numbers-app/numbers/shared/profiling"
)

// Config is the proxy's configuration: the HTTP side's (server.Config) and
// the process's own.
type Config struct {
	server.Config
	// HTTPAddr is where the proxy listens.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// MaxConns bounds open connections: past it each request is answered
	// 503 + Retry-After at once and its connection closed (server.HTTPServer).
	MaxConns int `env:"HTTP_MAX_CONNS" envDefault:"1024"`
	// DrainDelay is how long /readyz fails before the listener closes on
	// SIGTERM, so a load balancer stops routing first.
	DrainDelay time.Duration `env:"DRAIN_DELAY" envDefault:"0s"`
	// ShutdownTimeout bounds finishing requests and pending sends.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
	config.EMF
}

func main() {
	command.Main("proxy", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], config.Environ(os.Environ()), os.Stdout, os.Stderr)
	})
}

// usage is what `proxy help` prints.
const usage = `usage: proxy [migrate | help]

  proxy          serve the API and the page on HTTP_ADDR (configuration: the
                 environment, see README "Configuration")
  proxy migrate  apply the schema migrations and exit (as the database's
                 owner: the deployment runs it once before the services roll,
                 which then run with MIGRATE=false as least-privilege logins)
  proxy help     this text
`

func run(ctx context.Context, args []string, environ map[string]string, stdout, logOut io.Writer) error {
	command := ""
	if len(args) > 0 {
		command = args[0]
	}
	switch command {
	case "", "migrate":
	case "help", "-h", "-help", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		return fmt.Errorf("unknown command %q\n%s", command, usage)
	}
	var cfg Config
	if err := config.Parse(&cfg, environ); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := logging.New(logOut, cfg.LogLevel, cfg.LogFormat, "proxy")
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if command == "migrate" {
		return server.Migrate(ctx, cfg.Config, log)
	}
	gctune.Apply(func(k string) string { return environ[k] }, log)
	stopPprof, err := profiling.Serve(cfg.PprofAddr) // debug only, off by default
	if err != nil {
		return err
	}
	defer stopPprof()
	built, err := server.New(ctx, cfg.Config, log, server.Options{})
	if err != nil {
		return err
	}
	defer built.Close()
	api := built.API
	stopEMF := metrics.StartEMF(cfg.EMFInterval, cfg.EMFNamespace, cfg.LogFormat, logOut, built.Registry, log) //nolint:contextcheck // the EMF flusher runs until stopEMF, not until ctx ends: it writes the last figures after ctx is done
	defer stopEMF()

	ln, err := net.Listen("tcp", cfg.HTTPAddr) //nolint:noctx // a listener lives until Close, not for a context
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	srv := server.HTTPServer(api, cfg.MaxConns, log)
	srv.CountOwnAnswers(built.Metrics.ObserveServerAnswer)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Str("write_mode", cfg.WriteMode).
		Str("database", cfg.PostgresURLForLog()).Str("queue", cfg.QueueURL).Msg("proxy listening")

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info().Dur("drain_delay", cfg.DrainDelay).Msg("shutting down: readiness fails, then the listener closes")
	api.SetDraining()
	time.Sleep(cfg.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// After Shutdown every handler has returned and every Send has its
	// answer; the deferred Close then flushes anything a cancelled request
	// left behind.
	if err := srv.Shutdown(sctx); err != nil { //nolint:contextcheck // ctx has ended: shutdown gets its own bounded context
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info().Msg("proxy stopped")
	return nil
}
