package consume

import (
	"math/rand/v2"
	"time"
)

// backoff doubles from min to max; each wait is drawn uniformly from the
// upper half of the current step ("equal jitter"), so many workers that
// failed together do not retry together.
type backoff struct{ min, max, cur time.Duration }

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max} }

// next returns the next wait: between cur/2 and cur, cur doubling up to max.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	half := b.cur / 2
	return half + rand.N(b.cur-half+1) //nolint:gosec // jitter spreads retries; it guards no secret
}

func (b *backoff) reset() { b.cur = 0 }
