package sqsqueue

import (
	"math/rand/v2"
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

	arriveEvery(300, 500*time.Microsecond, false) // 2,000 a second, each after the last was answered
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

	arriveEvery(300, 2*time.Millisecond, true) // 500 a second, overlapping
	assert.False(t, c.expected(), "a stream slower than the busy rate does not linger")
	arriveEvery(300, 500*time.Microsecond, true)
	assert.True(t, c.expected(), "and one faster than it does")
}

// Gaps that come at random (Poisson arrivals: many independent clients)
// make the moving average itself noisy. Below the busy rate most messages
// must read as lone, above it most as busy; the arrival times are drawn
// from a seeded source, so the shares are the same on every run.
func TestCompanyTellsRatesApartWhenGapsComeAtRandom(t *testing.T) {
	share := func(rate float64) float64 {
		r := rand.New(rand.NewPCG(1, 2))
		c := company{busyGap: time.Millisecond, maxGap: time.Second} // 1,000/s
		now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		const warm, n = 2000, 20000
		busy := 0
		for i := range warm + n {
			now = now.Add(time.Duration(r.ExpFloat64() * float64(time.Second) / rate))
			c.arrive(now, true)
			if i >= warm && c.expected() {
				busy++
			}
		}
		return float64(busy) / n
	}
	assert.Less(t, share(800), 0.10, "800/s, below the busy rate: few messages wait for company")
	assert.Greater(t, share(1200), 0.85, "1,200/s, above it: most messages wait for company")
}
