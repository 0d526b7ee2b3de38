// Package server builds the proxy's HTTP handler from its configuration:
// the one wiring of store, queue, idempotency keys, edge protection, stats
// and metrics that the ECS proxy and the HTTP Lambda function share.
package server

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/proxy/httpapi"
	"github.com/numbers-app/numbers/shared/backends"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/metrics"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// Config is the HTTP side's configuration (environment variables; README).
// A field without envDefault takes its default from the constant of the
// package that owns it (WithDefaults), so each default is written once.
type Config struct {
	config.Common
	// WriteMode is "async" (enqueue, 202) or "sync" (insert per request, 201:
	// the original app's behaviour, kept as a benchmark baseline).
	WriteMode string `env:"WRITE_MODE" envDefault:"async"`
	// Migrate applies schema migrations at start (safe with several processes).
	Migrate bool `env:"MIGRATE" envDefault:"true"`
	// Send batching: see sqsqueue.PublisherConfig. Each defaults to its
	// sqsqueue.Default… constant.
	SendLinger      time.Duration `env:"SQS_SEND_LINGER"`
	SendBusyRate    float64       `env:"SQS_SEND_BUSY_RATE"`
	SendMaxInFlight int           `env:"SQS_SEND_MAX_IN_FLIGHT"`
	SendMaxPending  int           `env:"SQS_SEND_MAX_PENDING"`
	// SendMaxWait is the admission bound: a POST whose send would wait
	// longer than this (estimated from the sends observed) is answered 503 +
	// Retry-After at once instead of queueing. Negative: off. Defaults to
	// sqsqueue.DefaultMaxWait.
	SendMaxWait time.Duration `env:"SQS_SEND_MAX_WAIT"`
	// SendMaxAggregate is the most posts one SQS message carries
	// (events.Aggregate): posts that arrive together under concurrency go
	// as one message, a lone post as its own. 1 turns aggregation off (one
	// message a post, ten a SendMessageBatch). Defaults to
	// sqsqueue.DefaultMaxAggregate. Consumers must read aggregates before
	// a producer writes them: deploy the worker and the SQS function first.
	SendMaxAggregate int `env:"SQS_SEND_MAX_AGGREGATE"`
	// RateLimit is requests per second per client to /api (0: off); Burst
	// defaults to twice that. TrustForwardedFor: behind an ALB, identify
	// clients by X-Forwarded-For, the entry ForwardedForHops from the right
	// (how many proxies append to it: the ALB alone is 1; defaults to
	// httpapi.DefaultForwardedForHops).
	RateLimit         float64 `env:"RATE_LIMIT_PER_CLIENT" envDefault:"0"`
	RateBurst         int     `env:"RATE_LIMIT_BURST" envDefault:"0"`
	TrustForwardedFor bool    `env:"TRUST_FORWARDED_FOR" envDefault:"false"`
	ForwardedForHops  int     `env:"FORWARDED_FOR_HOPS"`
	// CORSOrigins may call the API from browsers on other origins.
	CORSOrigins []string `env:"CORS_ALLOWED_ORIGINS" envSeparator:","`
	// KeyWindow is how long an Idempotency-Key is remembered. Defaults to
	// number.DefaultKeyWindow.
	KeyWindow time.Duration `env:"IDEMPOTENCY_WINDOW"`
	// MaxInflightWrites bounds concurrent POSTs (503 beyond it). Defaults
	// to httpapi.DefaultMaxInflightWrites.
	MaxInflightWrites int `env:"MAX_INFLIGHT_WRITES"`
}

// WithDefaults returns c with every zero field that has a default set to
// it, from the constants of the packages that own them. New calls it.
func (c Config) WithDefaults() Config {
	send := c.publisherConfig().WithDefaults()
	c.SendLinger, c.SendBusyRate, c.SendMaxInFlight, c.SendMaxPending, c.SendMaxWait = send.Linger, send.BusyRate, send.MaxInFlight, send.MaxPending, send.MaxWait
	c.SendMaxAggregate = cmp.Or(c.SendMaxAggregate, send.MaxAggregate)
	c.ForwardedForHops = cmp.Or(c.ForwardedForHops, httpapi.DefaultForwardedForHops)
	c.KeyWindow = cmp.Or(c.KeyWindow, number.DefaultKeyWindow)
	c.MaxInflightWrites = cmp.Or(c.MaxInflightWrites, httpapi.DefaultMaxInflightWrites)
	return c
}

// publisherConfig is the send batching the configuration asks for.
func (c Config) publisherConfig() sqsqueue.PublisherConfig {
	pc := sqsqueue.PublisherConfig{QueueURL: c.QueueURL, Linger: c.SendLinger, BusyRate: c.SendBusyRate, MaxInFlight: c.SendMaxInFlight,
		MaxPending: c.SendMaxPending, MaxWait: c.SendMaxWait, SendTimeout: WriteSendTimeout}
	if c.SendMaxAggregate != 1 {
		pc.Aggregate, pc.MaxAggregate = events.Aggregate, c.SendMaxAggregate
	}
	return pc
}

// maxSendLinger bounds SQS_SEND_LINGER: a POST is answered only once SQS
// has its message, and a linger longer than this is no longer "a few ms
// under concurrency" but a stall a client will time out on.
const maxSendLinger = time.Second

// Validate names the first bad field.
// A zero field that has a default is judged by its default (WithDefaults),
// so a configuration can be validated as parsed.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if c.ForwardedForHops < 0 {
		return fmt.Errorf("configuration: FORWARDED_FOR_HOPS must be at least 1, got %d", c.ForwardedForHops)
	}
	if c.MaxInflightWrites < 1 {
		return fmt.Errorf("configuration: MAX_INFLIGHT_WRITES must be at least 1, got %d", c.MaxInflightWrites)
	}
	if c.WriteMode != "async" && c.WriteMode != "sync" {
		return fmt.Errorf("configuration: WRITE_MODE must be async or sync, got %q", c.WriteMode)
	}
	// Checked here, before anything is opened, and named by variable.
	if c.SendLinger < 0 || c.SendLinger > maxSendLinger {
		return fmt.Errorf("configuration: SQS_SEND_LINGER must be between 0 and %v, got %v", maxSendLinger, c.SendLinger)
	}
	if err := c.publisherConfig().WithDefaults().Validate(); err != nil {
		return fmt.Errorf("configuration: SQS_SEND_*: %w", err)
	}
	return nil
}

// Options say how the process lives.
type Options struct {
	// DirectSend sends each message in its own call instead of coalescing
	// concurrent posts: for Lambda, where one environment serves one request
	// at a time and background goroutines are frozen between invocations.
	DirectSend bool
	// MaxWait bounds waiting for Postgres at start (migrations). Defaults to
	// a minute.
	MaxWait time.Duration
	// WrapSQS, when set, wraps the SQS client the handler uses: tests put a
	// slow or faulty client on top of the real one.
	WrapSQS func(sqsqueue.API) sqsqueue.API
}

// Server is the built handler and what it holds.
type Server struct {
	API      *httpapi.API
	Registry *prometheus.Registry
	// Metrics are the proxy's, in Registry (the HTTP server counts its
	// own answers there: HTTP.CountOwnAnswers).
	Metrics *metrics.Proxy
	Store   *pgstore.Store
	pub     *sqsqueue.Publisher
}

// New connects to Postgres (migrating when configured) and SQS and builds
// the handler. Close releases what it opened.
func New(ctx context.Context, cfg Config, log zerolog.Logger, opts Options) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = time.Minute
	}
	store, sqsClient, err := backends.Open(ctx, cfg.Common, log, cfg.Migrate, opts.MaxWait)
	if err != nil {
		return nil, err
	}
	s := &Server{Store: store}
	var client sqsqueue.API = sqsClient
	if opts.WrapSQS != nil {
		client = opts.WrapSQS(client)
	}
	queue := sqsqueue.Queue{API: client, URL: cfg.QueueURL}
	var sender events.Sender = queue
	s.Registry = metrics.NewRegistry()
	met := metrics.NewProxy(s.Registry)
	s.Metrics = met
	if !opts.DirectSend {
		s.pub, err = sqsqueue.NewPublisher(sendCounter{client, met.SendBatch}, cfg.publisherConfig(), log) //nolint:contextcheck // the publisher's loop lives until Close, each send under its own timeout
		if err != nil {
			s.Close()
			return nil, err
		}
		sender = s.pub
	}

	deps := httpapi.Deps{
		Enqueuer:          metrics.TimedEnqueuer{Next: events.Enqueuer{Sender: sender}, Metrics: met},
		Reader:            store,
		Timeout:           HandlerTimeout,
		Keys:              store,
		KeyWindow:         cfg.KeyWindow,
		MaxInflightWrites: cfg.MaxInflightWrites,
		// Readiness means "can accept writes": the queue is required,
		// Postgres only reported (see README, Operations).
		Checks:         map[string]httpapi.Check{"sqs": queue.Ping},
		Reported:       map[string]httpapi.Check{"postgres": store.Ping},
		Log:            log,
		Stats:          statsSources(client, store, cfg.QueueURL, cfg.DLQURL),
		Metrics:        met,
		MetricsHandler: promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}),
		Edge: httpapi.EdgeConfig{RatePerClient: cfg.RateLimit, Burst: cfg.RateBurst,
			TrustForwardedFor: cfg.TrustForwardedFor, ForwardedForHops: cfg.ForwardedForHops, AllowedOrigins: cfg.CORSOrigins},
	}
	if cfg.WriteMode == "sync" {
		// The synchronous baseline writes to Postgres: then it is required.
		deps.SyncWriter = store
		deps.Checks["postgres"] = store.Ping
		delete(deps.Reported, "postgres")
	}
	s.API, err = httpapi.New(deps)
	if err != nil {
		s.Close()
		return nil, err
	}
	registerStatsGauges(s.Registry, s.API) //nolint:contextcheck // the gauges read when scraped, each under the scrape's own timeout
	return s, nil
}

// Close flushes pending sends (every handler must have returned) and closes
// the store.
func (s *Server) Close() {
	if s.pub != nil {
		s.pub.Close()
	}
	s.Store.Close()
}

// statsSources feed GET /api/stats: the store's figures, the queues' depths
// (the dead-letter queue's when SQS_DLQ_URL is set).
func statsSources(client sqsqueue.API, store *pgstore.Store, queueURL, dlqURL string) httpapi.StatsSources {
	src := httpapi.StatsSources{Store: store, Queue: sqsqueue.Queue{API: client, URL: queueURL}.Depth}
	if dlqURL != "" {
		src.DLQ = sqsqueue.Queue{API: client, URL: dlqURL}.Depth
	}
	return src
}

// registerStatsGauges publishes the (cached) figures of /api/stats as
// gauges; -1 means unknown.
func registerStatsGauges(reg prometheus.Registerer, api *httpapi.API) {
	gauge := func(name, help string, f func(httpapi.Stats) *float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Name: name, Help: help},
			func() float64 {
				if v := f(api.Stats(context.Background())); v != nil {
					return *v
				}
				return -1
			}))
	}
	num := func(p *int) *float64 {
		if p == nil {
			return nil
		}
		v := float64(*p)
		return &v
	}
	gauge("stored_numbers", "Numbers stored: exact below a million rows, the planner's estimate above.", func(s httpapi.Stats) *float64 {
		if s.StoredCount == nil {
			return nil
		}
		v := float64(*s.StoredCount)
		return &v
	})
	gauge("queue_depth", "Messages in the main queue, visible + in flight.", func(s httpapi.Stats) *float64 { return num(s.QueueDepth) })
	gauge("dlq_depth", "Messages in the dead-letter queue.", func(s httpapi.Stats) *float64 { return num(s.DLQDepth) })
	gauge("oldest_message_age_seconds", "Estimated age of the oldest message not yet stored (see GET /api/stats).",
		func(s httpapi.Stats) *float64 { return s.OldestMessageAgeSeconds })
	gauge("worker_lag_seconds", "Median accepted → stored time of the numbers accepted in the last minute (0: none).",
		func(s httpapi.Stats) *float64 {
			if s.WorkerLagSeconds == nil {
				zero := 0.0
				return &zero
			}
			return s.WorkerLagSeconds
		})
}

// Migrate applies the schema migrations and returns: `proxy migrate`, the
// deployment's one-off task, run as the database's owner before the
// services roll (they then run with MIGRATE=false as least-privilege
// logins). It waits up to a minute for Postgres to answer.
func Migrate(ctx context.Context, cfg Config, log zerolog.Logger) error {
	store, err := backends.OpenStore(cfg.Common) //nolint:contextcheck // builds a pool: its connections take their contexts per query
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.MigrateWithRetry(ctx, log, time.Minute); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	log.Info().Msg("migrations applied")
	return nil
}

// sendCounter records how many events each SendMessageBatch carries (an
// aggregated message counts its event_count): the SDK's cost is per call,
// so this says what a write costs in calls.
type sendCounter struct {
	next  sqsqueue.SendBatchAPI
	sizes prometheus.Observer
}

func (c sendCounter) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	c.sizes.Observe(float64(eventsIn(in.Entries)))
	return c.next.SendMessageBatch(ctx, in, optFns...)
}

// eventsIn counts the events of entries: an aggregate's event_count, one
// for any other message.
func eventsIn(entries []types.SendMessageBatchRequestEntry) int {
	n := 0
	for _, e := range entries {
		n += events.CountOf(aws.ToString(e.MessageAttributes[events.AttrEventCount].StringValue))
	}
	return n
}
