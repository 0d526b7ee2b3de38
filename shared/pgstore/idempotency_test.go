package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/testenv"
)

func TestClaimBindsAKeyToItsFirstSubmission(t *testing.T) {
	t.Parallel()
	s := testenv.Store(t)
	ctx := context.Background()
	first := sub(7, time.Now())
	got, replayed, err := s.Claim(ctx, "key-1", first, time.Hour)
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, first.ID, got.ID)

	retry := sub(7, time.Now().Add(time.Second))
	got, replayed, err = s.Claim(ctx, "key-1", retry, time.Hour)
	require.NoError(t, err)
	assert.True(t, replayed)
	assert.Equal(t, first.ID, got.ID, "a retry gets the first id")
	assert.Equal(t, number.Truncate(first.AcceptedAt), got.AcceptedAt, "and the first accepted_at")

	_, _, err = s.Claim(ctx, "key-1", sub(8, time.Now()), time.Hour)
	assert.ErrorIs(t, err, number.ErrKeyReused, "another value under the same key is refused")

	time.Sleep(1100 * time.Millisecond)
	later := sub(9, time.Now())
	got, replayed, err = s.Claim(ctx, "key-1", later, time.Second)
	require.NoError(t, err)
	assert.False(t, replayed, "after the window the key is free again")
	assert.Equal(t, later.ID, got.ID)

	n, err := s.PruneKeys(ctx, time.Hour)
	require.NoError(t, err)
	assert.Zero(t, n)
	time.Sleep(1100 * time.Millisecond)
	n, err = s.PruneKeys(ctx, time.Second)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestConcurrentClaimsOfOneKeyAgree(t *testing.T) {
	t.Parallel()
	s := testenv.Store(t)
	distinct := testenv.Distinct(20, func(int) string {
		got, _, err := s.Claim(context.Background(), "same", sub(1, time.Now()), time.Hour)
		assert.NoError(t, err)
		return got.ID
	})
	assert.Len(t, distinct, 1, "twenty racing requests get one id")
}
