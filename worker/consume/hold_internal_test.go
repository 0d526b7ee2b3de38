package consume

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/numbers-app/numbers/shared/message"
)

// A batch held without an error of its own (received as receiving paused)
// while the outage's first batch is still on its way to the holder shows
// the outage's reason: Status read Held 10 and no LastError in between.
func TestABatchHeldBeforeTheOutagesFirstShowsTheOutagesReason(t *testing.T) {
	t.Parallel()
	h := newHolder(newGate())
	outage := errors.New("insert: unavailable")
	now := time.Now()
	h.pause(outage, now) // the first failed batch: receiving stops, its visibility is renewed next
	h.add([]message.Message{{ID: "received-meanwhile"}}, nil, now)
	n, since, err := h.state()
	assert.Equal(t, 1, n)
	assert.False(t, since.IsZero())
	assert.ErrorIs(t, err, outage, "held messages come with the reason")
	assert.False(t, h.gate.isOpen(), "receiving paused")
}
