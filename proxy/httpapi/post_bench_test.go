package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/proxy/httpapi"
	"github.com/numbers-app/numbers/shared/number"
)

type discardEnqueuer struct{}

func (discardEnqueuer) Enqueue(context.Context, number.Submission) error { return nil }

// BenchmarkPostValue is the proxy's own CPU and allocations per accepted
// write: routing, request id, validation, id, the answer. The queue is a
// no-op here; its cost is in sqsqueue's benchmarks and the load test.
func BenchmarkPostValue(b *testing.B) {
	api, err := httpapi.New(httpapi.Deps{Enqueuer: discardEnqueuer{}, Reader: fakeReader{}, Log: zerolog.Nop()})
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
