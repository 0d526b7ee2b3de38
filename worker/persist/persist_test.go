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

	dead := testenv.ReceiveAll(t, qs.DLQ, 2, qs.DLQWait())
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

func TestAnAggregateStoresItsEventsAndDeadLettersItsPoisonEventAlone(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: func() time.Time { return fixed }}

	a, b, c := good(t, 1), good(t, 2), good(t, 3)
	const poison = `{"type":"number.submitted","version":2,"request_id":"rq-poison"}`
	agg := events.Aggregate([]message.Message{a, {Body: poison}, b, a})
	agg.ID = "agg-1"
	agg.Attributes[message.AttrReplayCount] = message.String("1")
	res := p.Process(context.Background(), []message.Message{agg, c})
	require.NoError(t, res.Err)
	assert.Equal(t, []int{0, 1}, res.Done, "the aggregate is done: its events stored and its poison event dead-lettered")
	assert.Empty(t, res.Failed)
	assert.Equal(t, 3, res.Stored, "a, b and c")
	assert.Equal(t, 1, res.Duplicates, "a twice in the aggregate")
	assert.Equal(t, 1, res.Poisoned)
	assert.Equal(t, 5, res.Events)

	n, err := store.Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	dead := testenv.ReceiveAll(t, qs.DLQ, 1, qs.DLQWait())
	require.Len(t, dead, 1)
	assert.JSONEq(t, poison, dead[0].Body, "the poison event alone, so a replay sends only it")
	assert.Equal(t, events.ReasonUnknownVersion, dead[0].Text(message.AttrDLQReason))
	assert.Contains(t, dead[0].Text(message.AttrDLQDetail), "event 2 of 4")
	assert.Equal(t, "agg-1", dead[0].Text(message.AttrDLQMessageID))
	assert.Equal(t, "1", dead[0].Text(message.AttrReplayCount), "the aggregate's replay count goes with it")
	assert.Empty(t, dead[0].Text(events.AttrEventCount), "it is no aggregate")
	assert.Equal(t, "rq-poison", dead[0].Text(events.AttrRequestID), "its request id, from its body, as a single event has it")

	// SQS delivers the aggregate again: nothing new is stored.
	res = p.Process(context.Background(), []message.Message{events.Aggregate([]message.Message{a, b})})
	require.NoError(t, res.Err)
	assert.Equal(t, 0, res.Stored)
	assert.Equal(t, 2, res.Duplicates)
}

func TestAMalformedAggregateIsDeadLetteredWhole(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	p := &persist.Persister{Store: testenv.Store(t), DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	body := "[" + good(t, 1).Body + ","
	res := p.Process(context.Background(), []message.Message{{ID: "m", Body: body}})
	require.NoError(t, res.Err)
	assert.Equal(t, []int{0}, res.Done)
	assert.Equal(t, 0, res.Stored)
	dead := testenv.ReceiveAll(t, qs.DLQ, 1, qs.DLQWait())
	require.Len(t, dead, 1)
	assert.Equal(t, body, dead[0].Body)
	assert.Equal(t, events.ReasonMalformed, dead[0].Text(message.AttrDLQReason))
}

func TestAnAggregateWhosePoisonEventTheDLQRefusesStaysWhole(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	p := &persist.Persister{Store: store, DLQ: failingDLQ{}, Log: testenv.Logger(t), Now: time.Now}
	a, b := good(t, 1), good(t, 2)
	agg := events.Aggregate([]message.Message{a, {Body: "{}"}, {Body: "[]"}})
	res := p.Process(context.Background(), []message.Message{agg, b})
	assert.Equal(t, []int{1}, res.Done)
	assert.Equal(t, []int{0}, res.Failed, "the aggregate stays in the queue, once, until its poison events are moved")
	assert.Equal(t, 0, res.Poisoned)
	var dl *persist.DeadLetterError
	require.ErrorAs(t, res.Err, &dl)
	assert.Equal(t, []int{0}, dl.Failed, "message indexes, each once")
	assert.Equal(t, 2, dl.NotMoved)
	assert.Equal(t, 2, dl.Of)
	n, err := store.Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n, "its good event is stored meanwhile; the redelivery finds it stored")
}

func TestAnAggregateWhoseInsertFailsStaysWholeAfterItsPoisonIsMoved(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	p := &persist.Persister{Store: failingWriter{}, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	agg := events.Aggregate([]message.Message{good(t, 1), {Body: "{}"}})
	res := p.Process(context.Background(), []message.Message{agg, {ID: "p", Body: "junk"}})
	assert.Equal(t, []int{1}, res.Done, "the poison message is moved")
	assert.Equal(t, []int{0}, res.Failed, "the aggregate is tried again for its good event")
	assert.ErrorIs(t, res.Err, number.ErrUnavailable)
	assert.Equal(t, 1, res.Poisoned, "the poison message; the aggregate's poison event waits for its good one")
}

func TestAnAggregateTriedAgainWhileTheDatabaseIsDownDeadLettersItsPoisonEventOnce(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	agg := events.Aggregate([]message.Message{good(t, 1), {Body: "{}"}})
	down := &persist.Persister{Store: failingWriter{}, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	for range 3 {
		res := down.Process(context.Background(), []message.Message{agg})
		assert.Equal(t, []int{0}, res.Failed)
		assert.Equal(t, 0, res.Poisoned, "its poison event waits for its good one")
	}
	up := &persist.Persister{Store: testenv.Store(t), DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	res := up.Process(context.Background(), []message.Message{agg})
	require.NoError(t, res.Err)
	assert.Equal(t, []int{0}, res.Done)
	assert.Equal(t, 1, res.Poisoned)
	dead := append(testenv.ReceiveAll(t, qs.DLQ, 1, qs.DLQWait()), testenv.ReceiveFor(t, qs.DLQ, 2*time.Second)...)
	assert.Len(t, dead, 1, "one dead letter for the poison event, not one per try")
}

// batchFigures records what Process reports for metrics.
type batchFigures struct {
	size, stored, duplicates, poisoned, failed int
}

func (b *batchFigures) ObserveBatch(size, stored, duplicates, poisoned, failed int, _ time.Duration) {
	*b = batchFigures{size, stored, duplicates, poisoned, failed}
}

func (*batchFigures) ObserveLag(time.Duration) {}

func TestTheMetricsCountEventsForEveryOutcome(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	var got batchFigures
	p := &persist.Persister{Store: failingWriter{}, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now, Metrics: &got}
	agg := events.Aggregate([]message.Message{good(t, 1), good(t, 2), good(t, 3)})
	p.Process(context.Background(), []message.Message{agg, good(t, 4), {ID: "p", Body: "junk"}})
	assert.Equal(t, batchFigures{size: 5, poisoned: 1, failed: 4}, got, "the aggregate's three events and the single one failed")

	got = batchFigures{}
	p.Store = testenv.Store(t)
	a := good(t, 5)
	p.Process(context.Background(), []message.Message{events.Aggregate([]message.Message{a, a, good(t, 6), {Body: "{}"}})})
	assert.Equal(t, batchFigures{size: 4, stored: 2, duplicates: 1, poisoned: 1}, got)
}

// hangingWriter is a database that answers nothing until the caller gives up.
type hangingWriter struct{}

func (hangingWriter) Insert(ctx context.Context, _ []number.Submission) (int, error) {
	<-ctx.Done()
	return 0, fmt.Errorf("insert: %w: %w", number.ErrUnavailable, ctx.Err())
}

func TestAPoisonMessageIsMovedThoughTheInsertHangsUntilTheBatchTimesOut(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	p := &persist.Persister{Store: hangingWriter{}, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := p.Process(ctx, []message.Message{good(t, 1), {ID: "p", Body: "junk"}, {ID: "q", Body: "[{}]"}})
	assert.Equal(t, []int{1, 2}, res.Done, "the poison message and the aggregate with nothing good are moved before the insert")
	assert.Equal(t, []int{0}, res.Failed)
	assert.Equal(t, 2, res.Poisoned)
	assert.Len(t, testenv.ReceiveAll(t, qs.DLQ, 2, qs.DLQWait()), 2)
}
