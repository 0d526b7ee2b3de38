package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHelpListsTheSubcommandsAndEveryVariable(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		t.Run(arg, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(context.Background(), []string{arg}, map[string]string{}, &out, &out))
			for _, want := range []string{
				"worker dlq", "DATABASE_URL", "SQS_QUEUE_URL", "SQS_DLQ_URL", "MIGRATE  ", "WORKER_POLLERS", "[2]",
				"SQS_VISIBILITY_TIMEOUT", "[30s]", "METRICS_ADDR", "IDEMPOTENCY_WINDOW", "[24h]", "LOG_LEVEL",
			} {
				assert.Contains(t, out.String(), want)
			}
		})
	}
}

func TestAnUnknownCommandPointsToHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, map[string]string{}, &out, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "worker help")
}
