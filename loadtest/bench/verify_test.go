package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/testenv"
)

// The rows of a step are matched with its 2xx answers one value at a time,
// on a real Postgres with the product's own schema.
func TestTheDrainCountsLostDuplicatedAndUnansweredRowsOfAStep(t *testing.T) {
	store := testenv.Store(t)
	e := &env{db: store.DB().DB}
	r := &runner{c: config{drain: 2 * time.Second}, e: e}
	const lo = 3 * valuesPerStep
	var subs []number.Submission
	// 1, 2 and 4 once, 3 twice (a duplicate), 5 never (lost), 7 without a
	// 2xx (a request that timed out after SQS had it), and a value of
	// another step that must not count.
	for _, v := range []int64{1, 2, 3, 3, 4, 7, valuesPerStep + 1} {
		subs = append(subs, number.Submission{ID: uuid.Must(uuid.NewV7()).String(), Value: lo + v, AcceptedAt: time.Now()})
	}
	_, err := store.Insert(context.Background(), subs)
	require.NoError(t, err)

	s := step{OK: 5}
	answered := map[int64]bool{lo + 1: true, lo + 2: true, lo + 3: true, lo + 4: true, lo + 5: true}
	require.NoError(t, r.drain(context.Background(), e.targets()["numbers"], lo, answered, &s, time.Now()))
	assert.Equal(t, 4, s.Stored, "stored")
	assert.Equal(t, 1, s.Lost, "lost")
	assert.Equal(t, 1, s.Duplicates, "duplicated")
	assert.Equal(t, 1, s.StoredWithout, "stored without a 2xx")
	s.Sent = 5
	s.judge(true)
	assert.False(t, s.Holds, "a step with a lost write does not hold")
}
