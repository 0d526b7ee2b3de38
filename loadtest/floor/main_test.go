package main

import (
	"sync"
	"testing"
	"time"
)

// Every post held by the batcher is let go, those that came together and
// those that came alone; none is held forever (the test's timeout would
// say so).
func TestTheBatcherAnswersEveryPostItHolds(t *testing.T) {
	hold := batcher(time.Millisecond, 0)
	for range 3 {
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(hold)
		}
		wg.Wait()
		hold() // alone, after a batch
	}
}
