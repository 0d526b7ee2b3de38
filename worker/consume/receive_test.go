package consume_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/persist"
)

// pacedQueue is the real queue, noting how long after a receive that
// brought fewer than ten messages the next receive began.
type pacedQueue struct {
	consume.Queue
	mu          sync.Mutex
	lastPartial time.Time
	gaps        []time.Duration
}

func (q *pacedQueue) Receive(ctx context.Context, max int, wait time.Duration) ([]message.Message, error) {
	q.mu.Lock()
	if !q.lastPartial.IsZero() {
		q.gaps = append(q.gaps, time.Since(q.lastPartial))
		q.lastPartial = time.Time{}
	}
	q.mu.Unlock()
	msgs, err := q.Queue.Receive(ctx, max, wait)
	if len(msgs) > 0 && len(msgs) < max {
		q.mu.Lock()
		q.lastPartial = time.Now()
		q.mu.Unlock()
	}
	return msgs, err
}

func TestAfterAReceiveOfFewerThanTenAPollerPausesSoMessagesGather(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	ctx := context.Background()
	q := &pacedQueue{Queue: qs.Main}
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	const pause = 500 * time.Millisecond
	c, err := consume.New(consume.Config{Pollers: 1, WaitTime: time.Second, ReceivePause: pause}, q, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()

	// A thin stream: one message at a time, each stored before the next.
	for i := range 3 {
		_, err := qs.Main.SendBatch(ctx, []message.Message{eventstest.Valid(t, int64(i))})
		require.NoError(t, err)
		testenv.Eventually(t, 30*time.Second, "the message stored", func() bool {
			n, err := store.Count(ctx)
			return err == nil && n == i+1
		})
	}
	testenv.Eventually(t, 30*time.Second, "a receive after a partial one", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.gaps) >= 2
	})
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, g := range q.gaps {
		assert.GreaterOrEqual(t, g, pause, "a poller pauses after a receive of fewer than ten")
	}
}
