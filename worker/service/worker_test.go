package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/service"
)

func TestTheWorkerStoresWhatItReceivesAndSaysSoOnHealthz(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	w, stop := startWorker(t, qs, testenv.DatabaseURL(t), consume.Config{Pollers: 2, Flushers: 1, FlushSize: 100})

	m, err := events.Encode(number.Submission{ID: "0190f5c4-7d3a-7b2e-9c1d-0000000000c1", Value: 7, AcceptedAt: time.Now(), RequestID: "rq"})
	require.NoError(t, err)
	_, err = qs.Main.SendBatch(context.Background(), []message.Message{m})
	require.NoError(t, err)
	// Past the queue's visibility: a receive whose answer was lost leaves
	// the message in flight for it.
	testenv.Eventually(t, qs.Spec.VisibilityTimeout+30*time.Second, "the number to be stored", func() bool {
		n, err := w.Core.Store.Count(context.Background())
		return err == nil && n == 1
	})

	rec := httptest.NewRecorder()
	w.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	var h map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &h))
	assert.Equal(t, "ok", h["status"])
	assert.Equal(t, true, h["receiving"])
	assert.EqualValues(t, 0, h["held"])
	stop()
}

func TestTheCoreNeedsADeadLetterQueue(t *testing.T) {
	t.Parallel()
	_, err := service.NewCore(context.Background(), config.Common{DatabaseURL: "postgres://u@127.0.0.1:1/db", QueueURL: "http://127.0.0.1:1/000000000000/q", DBMaxConns: 1}, testenv.Logger(t), service.Options{})
	assert.ErrorIs(t, err, service.ErrNoDLQ)
}

// A bad consumer setting is reported before anything connects: the
// database here is unreachable, and the error must still name the setting.
func TestABadConsumerSettingIsRefusedBeforeTheDatabaseIsReached(t *testing.T) {
	t.Parallel()
	cfg := service.Config{
		Common: config.Common{DatabaseURL: "postgres://u@127.0.0.1:1/db", QueueURL: "http://127.0.0.1:1/000000000000/q",
			DLQURL: "http://127.0.0.1:1/000000000000/q-dlq", DBMaxConns: 1},
		Config: consume.Config{WaitTime: 500 * time.Millisecond},
	}
	err := cfg.Validate()
	assert.ErrorIs(t, err, sqsqueue.ErrWait)
	assert.ErrorContains(t, err, "SQS_WAIT_TIME")
}

// startWorker runs a worker on qs and the database at dbURL, with cc's
// pollers, flushers and flush size and short waits, until stop, which
// checks that it shuts down cleanly (at the latest when the test ends).
func startWorker(t *testing.T, qs testenv.Queues, dbURL string, cc consume.Config) (w *service.Worker, stop func()) {
	t.Helper()
	common := testenv.Common(t, dbURL, qs)
	common.LogLevel, common.LogFormat = "info", "json"
	cc.FlushInterval, cc.WaitTime, cc.VisibilityTimeout, cc.ShutdownTimeout = 10*time.Millisecond, time.Second, 30*time.Second, 5*time.Second
	cfg := service.Config{Common: common, Migrate: true, KeyWindow: time.Hour, Config: cc}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := service.NewWorker(ctx, cfg, testenv.Logger(t), service.WorkerOptions{})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err, "a clean shutdown")
			case <-time.After(60 * time.Second):
				t.Error("the worker did not stop")
			}
			w.Close()
		})
	}
	t.Cleanup(stop)
	return w, stop
}
