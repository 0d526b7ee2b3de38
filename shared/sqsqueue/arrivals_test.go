package sqsqueue

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The rule that decides whether a batch lingers for company when no send
// is in flight, with the arrival times given rather than read from a clock.
func TestCompanyIsExpectedOnlyWhileOverlappingMessagesKeepComingFast(t *testing.T) {
	c := company{arrivals: arrivals{maxGap: time.Second}, busyGap: time.Millisecond} // a busy rate of 1,000/s
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c.arrive(now, false)
	assert.False(t, c.expected(), "the first message is lone")

	for range 100 { // 2,000 messages a second, each after the last was answered
		now = now.Add(500 * time.Microsecond)
		c.arrive(now, false)
	}
	assert.False(t, c.expected(), "one client that waits for each answer never has company, however fast")

	c.arrive(now.Add(100*time.Microsecond), true)
	now = now.Add(100 * time.Microsecond)
	assert.True(t, c.expected(), "fast messages that overlap expect company")

	c.nobodyCame()
	assert.False(t, c.expected(), "a linger that ended alone stops the lingering")
	now = now.Add(500 * time.Microsecond)
	c.arrive(now, true)
	assert.True(t, c.expected(), "until messages overlap again")

	now = now.Add(5 * time.Second)
	c.arrive(now, true)
	assert.False(t, c.expected(), "the first message after a pause is lone again, however busy it was before")
	for range 3 {
		now = now.Add(500 * time.Microsecond)
		c.arrive(now, true)
	}
	assert.False(t, c.expected(), "a few quick messages after a pause are not yet a busy spell")

	for range 100 { // 500 messages a second, overlapping: a steady stream under the busy rate
		now = now.Add(2 * time.Millisecond)
		c.arrive(now, true)
	}
	assert.False(t, c.expected(), "a stream slower than the busy rate does not linger")
	for range 100 {
		now = now.Add(500 * time.Microsecond)
		c.arrive(now, true)
	}
	assert.True(t, c.expected(), "and one faster than it does")
}
