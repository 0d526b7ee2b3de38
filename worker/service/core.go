// Package service builds the worker from its configuration: the one wiring
// of store, dead-letter queue, metrics and persist core that the ECS worker
// and the SQS Lambda function share (Core), and the ECS worker around it
// (Worker: the consumer loop, key pruning and the metrics listener).
package service

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/shared/backends"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/metrics"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/worker/persist"
)

// DefaultMaxWait bounds waiting for Postgres to migrate at start.
const DefaultMaxWait = time.Minute

// Options say how the process lives.
type Options struct {
	// Migrate applies schema migrations before anything else.
	Migrate bool
	// MaxWait bounds waiting for Postgres while migrating. Defaults to
	// DefaultMaxWait.
	MaxWait time.Duration
}

// Core is the persist core and what it holds: the same for the ECS worker
// and the SQS Lambda function.
type Core struct {
	// Persister is the batch-persist core.
	Persister *persist.Persister
	// Store is the Postgres store it writes to.
	Store *pgstore.Store
	// Client is the SQS client; DLQ the dead-letter queue poison goes to.
	Client *sqs.Client
	DLQ    sqsqueue.Queue
	// Registry holds the worker's metrics; Metrics are those figures.
	Registry *prometheus.Registry
	Metrics  *metrics.Worker
}

// ErrNoDLQ is returned when SQS_DLQ_URL is not set: poison messages go
// there, and without it they would be retried until the redrive policy
// moves them with no reason.
var ErrNoDLQ = errors.New("configuration: SQS_DLQ_URL is required (poison messages go there)")

// NewCore connects to Postgres (migrating when asked) and SQS and builds
// the persist core. Close releases what it opened.
func NewCore(ctx context.Context, cfg config.Common, log zerolog.Logger, opts Options) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DLQURL == "" {
		return nil, ErrNoDLQ
	}
	store, client, err := backends.Open(ctx, cfg, log, opts.Migrate, cmp.Or(opts.MaxWait, DefaultMaxWait))
	if err != nil {
		return nil, err
	}
	dlq := sqsqueue.Queue{API: client, URL: cfg.DLQURL}
	reg := metrics.NewRegistry()
	met := metrics.NewWorker(reg)
	return &Core{
		Metrics:   met,
		Persister: &persist.Persister{Store: store, DLQ: dlq, Log: log, Now: time.Now, Metrics: met},
		Store:     store,
		Client:    client,
		DLQ:       dlq,
		Registry:  reg,
	}, nil
}

// Close closes the store.
func (c *Core) Close() { c.Store.Close() }
