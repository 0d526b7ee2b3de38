package main

import (
	"testing"

	"github.com/numbers-app/numbers/functions/internal/functest"
)

func TestSQSFunctionWithTheGoldenEvents(t *testing.T) {
	t.Parallel()
	functest.SQS(t, functest.InProcess(setup))
}

func TestSQSFunctionNeedsADeadLetterQueue(t *testing.T) {
	t.Parallel()
	functest.RefusesConfig(t, setup, map[string]string{
		"DATABASE_URL": "postgres://u@127.0.0.1:1/db", "SQS_QUEUE_URL": "http://127.0.0.1:1/000000000000/q",
	}, "SQS_DLQ_URL")
}
