package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/proxy/httpapi"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/metrics"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

// discardSender takes every message at once.
type discardSender struct{}

func (discardSender) Send(context.Context, message.Message) error { return nil }

// BenchmarkPostValue is the proxy's own CPU and allocations per accepted
// write, wired as the proxy wires it (request metrics, the timed enqueuer,
// the event encoding, an info-level logger): routing, request id,
// validation, id, the answer. Only the queue is a no-op; its cost is in
// sqsqueue's benchmarks and the load test.
func BenchmarkPostValue(b *testing.B) {
	benchPosts(b, discardSender{}, 1)
}

// benchPosts posts {"value": N} to the API wired as the proxy wires it,
// its events handed to sender, from parallelism goroutines a CPU, and
// fails on any answer but 202.
func benchPosts(b *testing.B, sender events.Sender, parallelism int) {
	b.Helper()
	met := metrics.NewProxy(prometheus.NewRegistry())
	api, err := httpapi.New(httpapi.Deps{
		Enqueuer: metrics.TimedEnqueuer{Next: events.Enqueuer{Sender: sender}, Metrics: met},
		Reader:   fakeReader{},
		Metrics:  met,
		Log:      zerolog.New(io.Discard).Level(zerolog.InfoLevel),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/api/values", strings.NewReader(`{"value": 9223372036854775807}`))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

// instantSQS answers every SendMessageBatch at once, each entry sent.
type instantSQS struct{}

func (instantSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	out := &sqs.SendMessageBatchOutput{Successful: make([]types.SendMessageBatchResultEntry, len(in.Entries))}
	for i, e := range in.Entries {
		out.Successful[i] = types.SendMessageBatchResultEntry{Id: e.Id}
	}
	return out, nil
}

// BenchmarkPostValueThroughPublisher is BenchmarkPostValue with the
// proxy's sqsqueue.Publisher (aggregating, as the proxy configures it) in
// front of an SQS API that answers at once: what a write allocates up to
// the SDK's call, whose cost is in sqsqueue's benchmarks. Its B/op and
// allocs/op are the figures; its ns/op is wall time, most of it the
// batches' linger, not CPU.
func BenchmarkPostValueThroughPublisher(b *testing.B) {
	pub, err := sqsqueue.NewPublisher(instantSQS{}, sqsqueue.PublisherConfig{QueueURL: "http://sqs.invalid/q", Aggregate: events.Aggregate, Linger: 100 * time.Microsecond}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pub.Close)
	benchPosts(b, pub, 8) // concurrent posts, so batches form as under load
}
