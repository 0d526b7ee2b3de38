package persist_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/persist"
)

var fixed = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func good(t *testing.T, v int64) message.Message {
	t.Helper()
	m := eventstest.Valid(t, v)
	m.ID = uuid.NewString() // as received
	return m
}

func TestPoisonGoesToTheDLQAndGoodMessagesAreStoredOnce(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: func() time.Time { return fixed }}

	a, b := good(t, 1), good(t, 2)
	dupOfA := a
	dupOfA.ID = "redelivered"
	batch := []message.Message{
		a,
		{ID: "p1", Body: "not json", Attributes: map[string]message.Attribute{"request_id": message.String("rq-p1")}},
		b,
		{ID: "p2", Body: `{"type":"number.submitted","version":9}`},
		dupOfA,
	}
	res := p.Process(context.Background(), batch)
	require.NoError(t, res.Err)
	sort.Ints(res.Done)
	assert.Equal(t, []int{0, 1, 2, 3, 4}, res.Done, "every message is done: stored, duplicate or dead-lettered")
	assert.Empty(t, res.Failed)
	assert.Equal(t, 2, res.Stored)
	assert.Equal(t, 1, res.Duplicates)
	assert.Equal(t, 2, res.Poisoned)

	n, err := store.Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	dead, err := qs.DLQ.Receive(context.Background(), 10, time.Second)
	require.NoError(t, err)
	require.Len(t, dead, 2)
	reasons := map[string]message.Message{}
	for _, d := range dead {
		reasons[d.Body] = d
	}
	assert.Equal(t, events.ReasonMalformed, reasons["not json"].Text(message.AttrDLQReason))
	assert.Equal(t, "rq-p1", reasons["not json"].Text("request_id"), "original attributes are kept")
	assert.Equal(t, "p1", reasons["not json"].Text(message.AttrDLQMessageID))
	assert.Equal(t, fixed.Format(time.RFC3339Nano), reasons["not json"].Text(message.AttrDLQFailedAt))
	assert.Equal(t, events.ReasonUnknownVersion, reasons[`{"type":"number.submitted","version":9}`].Text(message.AttrDLQReason))

	// Processing the same batch again (SQS redelivery) stores nothing new.
	res = p.Process(context.Background(), []message.Message{a, b})
	assert.Equal(t, 0, res.Stored)
	assert.Equal(t, 2, res.Duplicates)
}

type failingWriter struct{}

func (failingWriter) Insert(context.Context, []number.Submission) (int, error) {
	return 0, fmt.Errorf("insert: %w", number.ErrUnavailable)
}

type failingDLQ struct{}

func (failingDLQ) SendBatch(_ context.Context, msgs []message.Message) ([]int, error) {
	idx := make([]int, len(msgs))
	for i := range idx {
		idx[i] = i
	}
	return idx, errors.New("dlq down")
}

func TestTransientFailuresAreReportedPerMessage(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	p := &persist.Persister{Store: failingWriter{}, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	res := p.Process(context.Background(), []message.Message{good(t, 1), {ID: "p", Body: "{}"}, good(t, 2)})
	assert.Equal(t, []int{1}, res.Done, "the poison message is dead-lettered even though the database is down")
	assert.ElementsMatch(t, []int{0, 2}, res.Failed, "good messages stay in the queue for a retry")
	assert.ErrorIs(t, res.Err, number.ErrUnavailable)

	p = &persist.Persister{Store: testenv.Store(t), DLQ: failingDLQ{}, Log: testenv.Logger(t), Now: time.Now}
	res = p.Process(context.Background(), []message.Message{good(t, 1), {ID: "p", Body: "{}"}})
	assert.Equal(t, []int{0}, res.Done)
	assert.Equal(t, []int{1}, res.Failed, "poison that could not be dead-lettered is left for the redrive policy")
}
