// Package metrics holds the Prometheus figures of the proxy and the worker
// and copies them to CloudWatch as Embedded Metric Format log lines on AWS.
package metrics

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/numbers-app/numbers/shared/number"
)

// Namespace prefixes every metric name.
const Namespace = "numbers"

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// latencyBuckets span a millisecond to half a minute.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// lagBuckets span ten milliseconds to ten minutes: accepted → stored.
var lagBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// Proxy are the proxy's figures.
type Proxy struct {
	Requests        *prometheus.CounterVec
	RequestDuration *prometheus.HistogramVec
	Enqueue         *prometheus.HistogramVec
	// SendBatch is the events per SendMessageBatch call (an aggregated
	// message counts its events): the SDK's cost is per call, so this says
	// what a write costs in SQS requests.
	SendBatch prometheus.Histogram

	// requests caches, by requestKey, each route and code's children of
	// Requests and RequestDuration, and enqueued the two of Enqueue: every
	// request passes here, and WithLabelValues hashes its labels and takes
	// a lock each time (two of them a request, plus the code's
	// strconv.Itoa). The label sets are bounded (routes and codes), so the
	// cache is too.
	requests sync.Map // requestKey → requestFigures
	enqueued [2]prometheus.Observer
}

type requestKey struct {
	route string
	code  int
}

type requestFigures struct {
	count prometheus.Counter
	took  prometheus.Observer
}

// batchBuckets count events per SQS call: at most 10 messages, and an
// aggregated message carries up to sqsqueue.DefaultMaxAggregate (100) by
// default.
var batchBuckets = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 50, 100, 200, 500, 1000}

// NewProxy registers the proxy's figures in reg.
func NewProxy(reg prometheus.Registerer) *Proxy {
	p := &Proxy{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total", Help: "HTTP requests by route pattern and status code (route \"server\": answered by the HTTP server itself, past its connection bound or unreadable).",
		}, []string{"route", "code"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds", Help: "HTTP request duration by route pattern.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		Enqueue: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "enqueue_duration_seconds",
			Help:    "Time from handing a number to the publisher to SQS acknowledging it, by outcome (ok, error).",
			Buckets: latencyBuckets,
		}, []string{"outcome"}),
	}
	p.SendBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "sqs_send_batch_size", Help: "Events per SendMessageBatch call (an aggregated message counts its events).", Buckets: batchBuckets,
	})
	p.enqueued = [2]prometheus.Observer{p.Enqueue.WithLabelValues("error"), p.Enqueue.WithLabelValues("ok")}
	reg.MustRegister(p.Requests, p.RequestDuration, p.Enqueue, p.SendBatch)
	return p
}

// ObserveRequest counts one HTTP request.
func (p *Proxy) ObserveRequest(route string, code int, took time.Duration) {
	key := requestKey{route, code}
	f, ok := p.requests.Load(key)
	if !ok {
		f, _ = p.requests.LoadOrStore(key, requestFigures{
			count: p.Requests.WithLabelValues(route, strconv.Itoa(code)),
			took:  p.RequestDuration.WithLabelValues(route),
		})
	}
	figs := f.(requestFigures) //nolint:forcetypeassert // only requestFigures are stored
	figs.count.Inc()
	figs.took.Observe(took.Seconds())
}

// ServerRoute is the route label of the answers the HTTP server gives
// without the handler (ObserveServerAnswer).
const ServerRoute = "server"

// ObserveServerAnswer counts an answer the HTTP server gave itself, with
// status code (503 past its connection bound; 400, 408, 413, 431 to a
// request it could not read), in http_requests_total under the route
// ServerRoute. It has no duration: the server answers at once.
func (p *Proxy) ObserveServerAnswer(code int) {
	p.Requests.WithLabelValues(ServerRoute, strconv.Itoa(code)).Inc()
}

// ObserveEnqueue records one enqueue's duration, by outcome.
func (p *Proxy) ObserveEnqueue(ok bool, took time.Duration) {
	i := 0
	if ok {
		i = 1
	}
	p.enqueued[i].Observe(took.Seconds())
}

// TimedEnqueuer measures Next's enqueue latency.
type TimedEnqueuer struct {
	Next    number.Enqueuer
	Metrics *Proxy
}

var _ number.Enqueuer = TimedEnqueuer{}

// Enqueue implements number.Enqueuer.
func (t TimedEnqueuer) Enqueue(ctx context.Context, s number.Submission) error {
	start := time.Now()
	err := t.Next.Enqueue(ctx, s)
	t.Metrics.ObserveEnqueue(err == nil, time.Since(start))
	return err
}

// Worker are the worker's figures (also the SQS Lambda's).
type Worker struct {
	// ReceiveBatch is the messages per ReceiveMessage call (0: an empty
	// long poll).
	ReceiveBatch prometheus.Histogram
	BatchSize    prometheus.Histogram
	Messages     *prometheus.CounterVec
	Persist      prometheus.Histogram
	Lag          prometheus.Histogram
}

// Outcomes of a message, the label of numbers_worker_messages_total.
const (
	OutcomeStored    = "stored"    // a new row
	OutcomeDuplicate = "duplicate" // already stored: a redelivery
	OutcomePoisoned  = "poisoned"  // moved to the dead-letter queue
	OutcomeFailed    = "failed"    // transient failure: left in the queue
)

// NewWorker registers the worker's figures in reg.
func NewWorker(reg prometheus.Registerer) *Worker {
	w := &Worker{
		ReceiveBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "sqs_receive_batch_size", Help: "Events per ReceiveMessage call (an aggregated message counts its events; 0: an empty long poll).",
			Buckets: append([]float64{0}, batchBuckets...),
		}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "worker_batch_size", Help: "Events per persisted batch (one INSERT; an aggregated message counts its events).",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000},
		}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "worker_messages_total",
			Help: "Events processed by outcome (an aggregated message counts its events): stored (new row), duplicate, poisoned (sent to the DLQ: a poison message, or a poison event of an aggregate), failed (left for redelivery).",
		}, []string{"outcome"}),
		Persist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "worker_persist_duration_seconds",
			Help: "Time to process one batch: decode, dead-letter poison, insert.", Buckets: latencyBuckets,
		}),
		Lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "e2e_lag_seconds",
			Help: "End-to-end lag: from the proxy accepting a number to the worker committing it.", Buckets: lagBuckets,
		}),
	}
	for _, o := range []string{OutcomeStored, OutcomeDuplicate, OutcomePoisoned, OutcomeFailed} {
		w.Messages.WithLabelValues(o) // present at zero from the start
	}
	reg.MustRegister(w.ReceiveBatch, w.BatchSize, w.Messages, w.Persist, w.Lag)
	return w
}

// ObserveBatch records one processed batch.
func (w *Worker) ObserveBatch(size, stored, duplicates, poisoned, failed int, took time.Duration) {
	w.BatchSize.Observe(float64(size))
	w.Persist.Observe(took.Seconds())
	w.Messages.WithLabelValues(OutcomeStored).Add(float64(stored))
	w.Messages.WithLabelValues(OutcomeDuplicate).Add(float64(duplicates))
	w.Messages.WithLabelValues(OutcomePoisoned).Add(float64(poisoned))
	w.Messages.WithLabelValues(OutcomeFailed).Add(float64(failed))
}

// ObserveLag records the end-to-end lag of one stored message.
func (w *Worker) ObserveLag(lag time.Duration) { w.Lag.Observe(lag.Seconds()) }

// QueueDepth is a collector that reads queue depths when scraped:
// numbers_queue_messages{queue, state}.
type QueueDepth struct {
	// Queues maps a queue's label ("main", "dlq") to how to read it.
	Queues  map[string]number.DepthFunc
	Timeout time.Duration // per scrape; defaults to 2s
}

var queueDesc = prometheus.NewDesc(Namespace+"_queue_messages",
	"Approximate messages in a queue by state (visible, in_flight).", []string{"queue", "state"}, nil)

// Describe implements prometheus.Collector.
func (q QueueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

// Collect implements prometheus.Collector; a queue that does not answer is
// left out of the scrape.
func (q QueueDepth) Collect(ch chan<- prometheus.Metric) {
	timeout := q.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for name, f := range q.Queues {
		visible, inFlight, err := f(ctx)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(visible), name, "visible")
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(inFlight), name, "in_flight")
	}
}
