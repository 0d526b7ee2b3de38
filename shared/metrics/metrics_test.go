package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"

	"github.com/numbers-app/numbers/shared/metrics"
)

// Each request counts under its own route and code, and each enqueue
// under its outcome, however many times a pair comes back (the figures
// are cached by route and code).
func TestRequestsAndEnqueuesCountUnderTheirOwnLabels(t *testing.T) {
	p := metrics.NewProxy(prometheus.NewRegistry())
	for range 2 {
		p.ObserveRequest("POST /api/values", 202, time.Millisecond)
	}
	p.ObserveRequest("POST /api/values", 400, time.Millisecond)
	p.ObserveRequest("GET /api/values/{id}", 202, time.Millisecond)
	p.ObserveRequest("GET /api/values/{id}", 404, time.Millisecond)
	p.ObserveEnqueue(true, time.Millisecond)
	p.ObserveEnqueue(true, time.Millisecond)
	p.ObserveEnqueue(false, time.Second)

	assert.InDelta(t, 2, testutil.ToFloat64(p.Requests.WithLabelValues("POST /api/values", "202")), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(p.Requests.WithLabelValues("POST /api/values", "400")), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(p.Requests.WithLabelValues("GET /api/values/{id}", "202")), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(p.Requests.WithLabelValues("GET /api/values/{id}", "404")), 0)
	assert.Equal(t, 4, testutil.CollectAndCount(p.Requests), "one series a route and code")
	assert.Equal(t, 2, testutil.CollectAndCount(p.RequestDuration), "one series a route")

	counts := map[string]uint64{}
	for _, outcome := range []string{"ok", "error"} {
		h, ok := p.Enqueue.WithLabelValues(outcome).(prometheus.Histogram)
		if assert.True(t, ok) {
			counts[outcome] = histogramCount(t, h)
		}
	}
	assert.Equal(t, map[string]uint64{"ok": 2, "error": 1}, counts)
}

func histogramCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	h.Collect(ch)
	m := &dto.Metric{}
	if err := (<-ch).Write(m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}
