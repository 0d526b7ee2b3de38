// Package backends opens what the proxy's and the worker's composition roots
// both take from the shared configuration: the Postgres store (migrated when
// asked) and the SQS client.
package backends

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// OpenStore opens the Postgres store the configuration names, with its
// credentials source (DB_SECRET_ARN, DB_IAM_AUTH). It builds a pool: its
// connections take their contexts per query.
func OpenStore(cfg config.Common) (*pgstore.Store, error) {
	dbURL, err := cfg.PostgresURL()
	if err != nil {
		return nil, err
	}
	return pgstore.Open(pgstore.Config{URL: dbURL, MaxConns: cfg.DBMaxConns,
		SecretARN: cfg.DBSecretARN, AWSRegion: cfg.AWSRegion, IAMAuth: cfg.DBIAMAuth})
}

// Open opens the store, applies the schema migrations when migrate is set
// (waiting up to maxWait for Postgres to answer), then builds the SQS
// client. On an error nothing it opened stays open.
func Open(ctx context.Context, cfg config.Common, log zerolog.Logger, migrate bool, maxWait time.Duration) (*pgstore.Store, *sqs.Client, error) {
	store, err := OpenStore(cfg) //nolint:contextcheck // builds a pool: its connections take their contexts per query
	if err != nil {
		return nil, nil, err
	}
	if migrate {
		if err := store.MigrateWithRetry(ctx, log, maxWait); err != nil {
			store.Close()
			return nil, nil, err
		}
	}
	client, err := sqsqueue.NewClient(ctx, sqsqueue.ClientConfig{Region: cfg.AWSRegion, Endpoint: cfg.SQSEndpoint})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, client, nil
}
