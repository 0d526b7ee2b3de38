// Command http is the HTTP function: the proxy's http.Handler on AWS Lambda,
// behind API Gateway (HTTP API in payload format 2.0 or 1.0, REST API), a
// function URL or an ALB target group. Configuration is the proxy's
// environment (README).
package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/numbers-app/numbers/functions/lambdaapi"
	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/logging"
)

func main() { lambdaapi.Main("http", setup) }

// setup is the INIT phase: what it builds (the Postgres pool, the SQS
// client) lives as long as the execution environment.
func setup(ctx context.Context, environ map[string]string, logOut io.Writer) (handler any, closeFn func(), err error) {
	var cfg server.Config
	if err := config.Parse(&cfg, lambdaapi.WithDefaults(environ)); err != nil {
		return nil, nil, err
	}
	log, err := logging.New(logOut, cfg.LogLevel, cfg.LogFormat, "http-function")
	if err != nil {
		return nil, nil, fmt.Errorf("configuration: %w", err)
	}
	// The proxy's very wiring, except that each POST sends its own message:
	// one request at a time per environment leaves nothing to coalesce, and
	// a batching goroutine would be frozen between invocations.
	built, err := server.New(ctx, cfg, log, server.Options{DirectSend: true, MaxWait: 5 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	lambdaapi.WarmStore(ctx, built.Store, log)
	log.Info().Str("database", cfg.PostgresURLForLog()).Str("queue", cfg.QueueURL).Int("db_max_conns", cfg.DBMaxConns).
		Msg("http function initialised")
	return lambdaapi.HTTPWith(built.API, lambdaapi.HTTPConfig{ForwardedForHops: cfg.ForwardedForHops}), built.Close, nil
}
