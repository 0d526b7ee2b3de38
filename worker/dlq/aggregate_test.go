package dlq

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/dlq/dlqtest"
)

// An aggregate the redrive policy moved to the DLQ holds a poison event.
// Replayed, the worker dead-letters that event alone (its own body, the
// count this run set): one run must not replay it again, or a single run
// burns its replay cap.
func TestAPoisonEventOfAReplayedAggregateThatTheWorkerSendsBackIsNotReplayedAgainInTheRun(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	store := testenv.Store(t)
	poison := message.Message{Body: `{"type":"number.submitted","version":1,"id":"` + uuid.NewString() +
		`","value":"x","accepted_at":"2026-11-27T08:00:00Z","request_id":"poison-rq"}`}
	dlqtest.Put(t, q.DLQ, events.Aggregate([]message.Message{eventstest.Valid(t, 1), poison, eventstest.Valid(t, 2)}))
	r := replayer(q, ReplayConfig{})
	// The worker is fast: the real persist core takes what was replayed
	// before the replay looks again.
	r.afterSend = func(ctx context.Context, sent []message.Message) error {
		dlqtest.Work(t, q, store)
		return nil
	}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, res.Replayed, "the aggregate, once")
	assert.Equal(t, 1, res.Returned, "its poison event, back from the worker")
	assert.Zero(t, res.SkippedCap)
	dead := dlqtest.Contents(t, q.DLQ)
	require.Len(t, dead, 1)
	assert.Equal(t, poison.Body, dead[0].Body)
	assert.Equal(t, "1", dead[0].Text(message.AttrReplayCount), "replayed once, so two replays are left")
	n, err := storedCount(t, store)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}
