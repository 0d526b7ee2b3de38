package main

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/functions/internal/functest"
)

func TestSQSFunctionWithTheGoldenEvents(t *testing.T) {
	t.Parallel()
	functest.SQS(t, functest.InProcess(setup))
}

func TestSQSFunctionNeedsADeadLetterQueue(t *testing.T) {
	t.Parallel()
	_, _, err := setup(context.Background(), map[string]string{
		"DATABASE_URL": "postgres://u@127.0.0.1:1/db", "SQS_QUEUE_URL": "http://127.0.0.1:1/000000000000/q",
	}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SQS_DLQ_URL")
}
