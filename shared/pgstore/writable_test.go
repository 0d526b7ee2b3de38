package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/testenv"
)

func TestWritableTellsAReadOnlyDatabaseFromAWritableOne(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	store := testenv.StoreAt(t, dbURL)
	ctx := context.Background()
	require.NoError(t, store.Writable(ctx), "a fresh database accepts writes")

	testenv.SetReadOnly(t, dbURL)

	ro, err := pgstore.Open(pgstore.Config{URL: dbURL})
	require.NoError(t, err)
	t.Cleanup(func() { ro.Close() })
	require.NoError(t, ro.Ping(ctx), "a read-only database answers pings")
	err = ro.Writable(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, number.ErrUnavailable)
	assert.ErrorIs(t, err, pgstore.ErrReadOnly)
	_, insertErr := ro.Insert(ctx, []number.Submission{{ID: "0190f5c4-7d3a-7b2e-9c1d-0000000000aa", Value: 1, AcceptedAt: time.Now()}})
	require.Error(t, insertErr, "and it does refuse the insert")
}

func TestWritableWrapsAnUnreachableServerAsUnavailable(t *testing.T) {
	t.Parallel()
	s, err := pgstore.Open(pgstore.Config{URL: "postgres://postgres@127.0.0.1:1/none?sslmode=disable"})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.ErrorIs(t, s.Writable(ctx), number.ErrUnavailable)
}
