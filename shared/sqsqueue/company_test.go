package sqsqueue

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The rule that decides whether a batch lingers for company when no send
// is in flight, with the arrival times given rather than read from a clock.
func TestCompanyIsExpectedOnlyWhileOverlappingMessagesKeepComingFast(t *testing.T) {
	c := company{busyGap: time.Millisecond, maxGap: time.Second} // a busy rate of 1,000/s
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	// arriveEvery records n messages, gap apart.
	arriveEvery := func(n int, gap time.Duration, others bool) {
		for range n {
			now = now.Add(gap)
			c.arrive(now, others)
		}
	}
	c.arrive(now, false)
	assert.False(t, c.expected(), "the first message is lone")

	arriveEvery(100, 500*time.Microsecond, false) // 2,000 a second, each after the last was answered
	assert.False(t, c.expected(), "one client that waits for each answer never has company, however fast")

	arriveEvery(1, 100*time.Microsecond, true)
	assert.True(t, c.expected(), "fast messages that overlap expect company")

	c.nobodyCame()
	assert.False(t, c.expected(), "a linger that ended alone stops the lingering")
	arriveEvery(1, 500*time.Microsecond, true)
	assert.True(t, c.expected(), "until messages overlap again")

	arriveEvery(1, 5*time.Second, true)
	assert.False(t, c.expected(), "the first message after a pause is lone again, however busy it was before")
	arriveEvery(3, 500*time.Microsecond, true)
	assert.False(t, c.expected(), "a few quick messages after a pause are not yet a busy spell")

	arriveEvery(100, 2*time.Millisecond, true) // 500 a second, overlapping
	assert.False(t, c.expected(), "a stream slower than the busy rate does not linger")
	arriveEvery(100, 500*time.Microsecond, true)
	assert.True(t, c.expected(), "and one faster than it does")
}
