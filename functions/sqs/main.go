// Command sqs is the SQS function: the ECS worker's batch-persist core on AWS
// Lambda, fed by an SQS event source mapping with ReportBatchItemFailures.
// The path of a record: lambdaapi.SQS (event to message.Message) →
// persist.Persister (built by worker/service.NewCore, the composition root
// the ECS worker uses too) → pgstore. Configuration is the worker's
// environment (README); SQS_DLQ_URL is required.
package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/numbers-app/numbers/functions/lambdaapi"
	"github.com/numbers-app/numbers/shared/logging"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/worker/service"
)

func main() { lambdaapi.Main("sqs", setup) }

// initMigrateWait bounds waiting for Postgres to migrate during INIT (which
// Lambda limits to 10s in all).
const initMigrateWait = 5 * time.Second

// setup is the INIT phase: what it builds (the Postgres pool, the SQS
// client) lives as long as the execution environment.
func setup(ctx context.Context, environ map[string]string, logOut io.Writer) (handler any, closeFn func(), err error) {
	cfg, err := lambdaapi.ParseConfig(environ)
	if err != nil {
		return nil, nil, err
	}
	log, err := logging.New(logOut, cfg.LogLevel, cfg.LogFormat, "sqs-function")
	if err != nil {
		return nil, nil, fmt.Errorf("configuration: %w", err)
	}
	core, err := service.NewCore(ctx, cfg.Common, log, service.Options{Migrate: cfg.Migrate, MaxWait: initMigrateWait})
	if err != nil {
		return nil, nil, err
	}
	lambdaapi.WarmStore(ctx, core.Store, log)
	log.Info().Str("database", cfg.PostgresURLForLog()).Str("dlq", cfg.DLQURL).Int("db_max_conns", cfg.DBMaxConns).
		Msg("sqs function initialised")
	// Records that fail because a dependency is down are held back on the
	// queue the event source mapping reads, longer with each receive.
	queue := sqsqueue.Queue{API: core.Client, URL: cfg.QueueURL}
	return lambdaapi.SQS(core.Persister, log, lambdaapi.SQSConfig{Queue: queue}), core.Close, nil
}
