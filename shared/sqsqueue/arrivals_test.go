package sqsqueue

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The rule that decides whether a batch lingers for company when no send
// is in flight, with the arrival times given rather than read from a clock.
func TestArrivalsReadBusyOnlyWhileMessagesKeepComingFast(t *testing.T) {
	const busyGap = 2 * time.Millisecond // a busy rate of 500/s
	a := arrivals{maxGap: time.Second}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	a.add(now)
	assert.GreaterOrEqual(t, a.gap, busyGap, "the first message is lone")

	for range 100 { // 1,000 messages a second
		now = now.Add(time.Millisecond)
		a.add(now)
	}
	assert.Less(t, a.gap, busyGap, "a steady 1,000/s reads busy")

	now = now.Add(5 * time.Second)
	a.add(now)
	assert.GreaterOrEqual(t, a.gap, busyGap, "the first message after a pause is lone again, however busy it was before")

	for range 3 {
		now = now.Add(time.Millisecond)
		a.add(now)
	}
	assert.GreaterOrEqual(t, a.gap, busyGap, "a few quick messages after a pause are not yet a busy spell")

	for range 100 { // 200 messages a second: a steady stream, but under the busy rate
		now = now.Add(5 * time.Millisecond)
		a.add(now)
	}
	assert.GreaterOrEqual(t, a.gap, busyGap, "a stream slower than the busy rate does not linger")
}
