package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/testenv"
)

// A METRICS_ADDR the operator set must be served; one `make run` chose may
// be taken by another process before the worker binds it, and then the
// worker runs without metrics instead of exiting (and crash-looping under
// make run's supervisor).
func TestATakenMetricsAddressStopsTheWorkerOnlyWhenTheOperatorChoseIt(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	env := testenv.Environ(t, testenv.NewQueues(t, 5, 30*time.Second), map[string]string{
		"METRICS_ADDR": taken.Addr().String(), "LOG_FORMAT": "json", "SQS_WAIT_TIME": "1s",
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = run(ctx, nil, env, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err, "the operator's own address is taken")
	assert.Contains(t, err.Error(), "METRICS_ADDR")

	env["METRICS_ADDR_OPTIONAL"] = "true"
	logs := &testenv.Buffer{}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(wctx, nil, env, &bytes.Buffer{}, logs) }()
	testenv.Eventually(t, time.Minute, "the worker to start without its metrics listener", func() bool {
		return strings.Contains(logs.String(), "metrics listener not started")
	})
	stop()
	select {
	case err := <-done:
		assert.NoError(t, err, "the worker ran and stopped cleanly")
	case <-time.After(time.Minute):
		t.Fatal("the worker did not stop")
	}
}
