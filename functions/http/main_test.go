package main

import (
	"testing"

	"github.com/numbers-app/numbers/functions/internal/functest"
)

func TestHTTPFunctionWithTheGoldenEvents(t *testing.T) {
	t.Parallel()
	functest.HTTP(t, functest.InProcess(setup))
}

func TestHTTPFunctionRefusesAnIncompleteConfiguration(t *testing.T) {
	t.Parallel()
	functest.RefusesConfig(t, setup, map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1:1/db"}, "SQS_QUEUE_URL")
}
