package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/proxy/httpapi"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/metrics"
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
	met := metrics.NewProxy(prometheus.NewRegistry())
	api, err := httpapi.New(httpapi.Deps{
		Enqueuer: metrics.TimedEnqueuer{Next: events.Enqueuer{Sender: discardSender{}}, Metrics: met},
		Reader:   fakeReader{},
		Metrics:  met,
		Log:      zerolog.New(io.Discard).Level(zerolog.InfoLevel),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
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
