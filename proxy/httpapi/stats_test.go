package httpapi_test

import (
	"github.com/numbers-app/numbers/shared/number"

	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/proxy/httpapi"
)

type fakeStatsStore struct {
	calls int
	fig   number.Figures
}

func (f *fakeStatsStore) StatsFigures(context.Context, time.Time) (number.Figures, error) {
	f.calls++
	return f.fig, nil
}

type observed struct {
	route string
	code  int
}

type fakeObserver struct{ seen []observed }

func (f *fakeObserver) ObserveRequest(route string, code int, _ time.Duration) {
	f.seen = append(f.seen, observed{route, code})
}

func TestStatsAreCachedAndEstimateTheOldestMessage(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	store := &fakeStatsStore{fig: number.Figures{Count: 7, Exact: true,
		NewestAcceptedAt: now.Add(-3 * time.Second), RecentLag: 20 * time.Millisecond, RecentSamples: 7}}
	depth := 0
	queue := func(context.Context) (int, int, error) { return depth, 1, nil }
	obs := &fakeObserver{}
	api, err := httpapi.New(httpapi.Deps{
		Enqueuer: &fakeEnqueuer{}, Reader: fakeReader{}, Log: zerolog.Nop(), Metrics: obs,
		Now:   func() time.Time { return now },
		Stats: httpapi.StatsSources{Store: store, Queue: queue, CacheFor: time.Second},
	})
	require.NoError(t, err)
	get := func() map[string]any {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/stats", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		var out map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		return out
	}

	s := get()
	assert.EqualValues(t, 7, s["stored_count"])
	assert.EqualValues(t, 1, s["queue_depth"], "visible + in flight")
	assert.Nil(t, s["dlq_depth"], "no DLQ source: unknown, not zero")
	assert.Equal(t, []any{"dlq"}, s["unavailable"])
	assert.InDelta(t, 3.0, s["oldest_message_age_seconds"], 1e-9, "queue not empty: now - newest stored accepted_at")
	assert.InDelta(t, 0.02, s["worker_lag_seconds"], 1e-9)

	get()
	assert.Equal(t, 1, store.calls, "a second read within CacheFor is served from the cache")
	now = now.Add(time.Second)
	get()
	assert.Equal(t, 2, store.calls, "read again after CacheFor")
	assert.Equal(t, observed{"GET /api/stats", 200}, obs.seen[0], "requests are observed by route pattern")
}
