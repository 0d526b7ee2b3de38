package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/numbers-app/numbers/shared/clock"
)

func TestSleepWaitsTheDurationUnlessTheContextEnds(t *testing.T) {
	start := time.Now()
	assert.NoError(t, clock.Sleep(context.Background(), 20*time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "returned before the duration passed")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, clock.Sleep(ctx, time.Hour), context.Canceled, "an ended context ends the wait")
	assert.ErrorIs(t, clock.Sleep(ctx, 0), context.Canceled, "no wait still reports the ended context")
	assert.NoError(t, clock.Sleep(context.Background(), -time.Second))
}
