// Command sqs is the SQS function: the ECS worker's batch-persist core on AWS
// Lambda, fed by an SQS event source mapping with ReportBatchItemFailures.
// Configuration is the worker's environment (README); SQS_DLQ_URL is required.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/numbers-app/numbers/functions/lambdaapi"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/logging"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/worker/persist"
)

func main() { lambdaapi.Main("sqs", setup) }

// setup is the INIT phase: what it builds (the Postgres pool, the SQS
// client) lives as long as the execution environment.
func setup(ctx context.Context, environ map[string]string, logOut io.Writer) (handler any, closeFn func(), err error) {
	cfg, err := lambdaapi.ParseConfig(environ)
	if err != nil {
		return nil, nil, err
	}
	if cfg.DLQURL == "" {
		return nil, nil, errors.New("configuration: SQS_DLQ_URL is required (poison messages go there)")
	}
	log, err := logging.New(logOut, cfg.LogLevel, cfg.LogFormat, "sqs-function")
	if err != nil {
		return nil, nil, fmt.Errorf("configuration: %w", err)
	}
	dbURL, _ := cfg.PostgresURL()
	store, err := pgstore.Open(pgstore.Config{URL: dbURL, MaxConns: cfg.DBMaxConns, SecretARN: cfg.DBSecretARN, AWSRegion: cfg.AWSRegion, IAMAuth: cfg.DBIAMAuth})
	if err != nil {
		return nil, nil, err
	}
	if err := lambdaapi.InitStore(ctx, store, cfg.Migrate, log); err != nil {
		store.Close()
		return nil, nil, err
	}
	client, err := sqsqueue.NewClient(ctx, sqsqueue.ClientConfig{Region: cfg.AWSRegion, Endpoint: cfg.SQSEndpoint})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	proc := &persist.Persister{
		Store: store,
		DLQ:   sqsqueue.Queue{API: client, URL: cfg.DLQURL},
		Log:   log,
		Now:   time.Now,
	}
	log.Info().Str("database", config.MaskURL(dbURL)).Str("dlq", cfg.DLQURL).Int("db_max_conns", cfg.DBMaxConns).
		Msg("sqs function initialised")
	return lambdaapi.SQS(proc, log), func() { store.Close() }, nil
}
