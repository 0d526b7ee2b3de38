package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/testenv"
)

func TestMigrateAppliesTheSchemaAndExits(t *testing.T) {
	t.Parallel()
	env := testenv.Environ(t, testenv.NewQueues(t, 5, 30*time.Second), map[string]string{
		"HTTP_ADDR": "127.0.0.1:1", // never listened on: migrate serves nothing
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	require.NoError(t, run(ctx, []string{"migrate"}, env, &bytes.Buffer{}, &logs))
	assert.Contains(t, logs.String(), "migrations applied")

	db := testenv.OpenDB(t, env["DATABASE_URL"])
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM numbers`).Scan(&n), "the numbers table exists")
	assert.Zero(t, n)
}

func TestHelpAndUnknownCommands(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"help", "-h", "--help"} {
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), []string{arg}, map[string]string{}, &out, &bytes.Buffer{}), arg)
		assert.Contains(t, out.String(), "proxy migrate", arg)
	}
	err := run(context.Background(), []string{"serve"}, map[string]string{}, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown command "serve"`)
}
