package main

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Posts that come together are held for one batch, or a few (a busy
// machine may start them apart), not a call each; every one is answered;
// and a lone post waits at least the linger: a lower bound, which a slow
// machine can only exceed.
func TestTheBatcherHoldsPostsForABatchAndAnswersEachOfThem(t *testing.T) {
	const posts, linger = 200, 50 * time.Millisecond
	var batches, held atomic.Int64
	hold := batcher(linger, time.Millisecond, func(n int) {
		batches.Add(1)
		held.Add(int64(n))
	})

	var wg sync.WaitGroup
	for range posts {
		wg.Go(hold)
	}
	answered := make(chan struct{})
	go func() { wg.Wait(); close(answered) }()
	select {
	case <-answered:
	case <-time.After(time.Minute):
		require.FailNow(t, "held posts were not answered within a minute", "%d of %d in batches", held.Load(), posts)
	}
	assert.EqualValues(t, posts, held.Load(), "every post in exactly one batch")
	assert.Less(t, batches.Load(), int64(posts), "posts that came together share batches")

	start := time.Now()
	hold()
	assert.GreaterOrEqual(t, time.Since(start), linger, "a lone post waits for the linger")
}
