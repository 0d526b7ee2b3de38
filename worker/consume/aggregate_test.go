package consume_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/persist"
)

// batchEvents is the real persister, recording how many messages and
// events each batch it was given held (one INSERT each).
type batchEvents struct {
	consume.Processor
	mu            sync.Mutex
	msgs, nEvents []int
}

func (b *batchEvents) Process(ctx context.Context, msgs []message.Message) persist.Result {
	n := 0
	for _, m := range msgs {
		items, err := events.DecodeMessage(m.Body)
		if err != nil {
			n++
			continue
		}
		n += len(items)
	}
	b.mu.Lock()
	b.msgs = append(b.msgs, len(msgs))
	b.nEvents = append(b.nEvents, n)
	b.mu.Unlock()
	return b.Processor.Process(ctx, msgs)
}

func (b *batchEvents) seen() (msgs, nEvents []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs), slices.Clone(b.nEvents)
}

// sendAggregates queues n aggregated messages of per valid events each.
func sendAggregates(t *testing.T, q interface {
	SendBatch(context.Context, []message.Message) ([]int, error)
}, n, per int) {
	t.Helper()
	msgs := make([]message.Message, n)
	for i := range msgs {
		evs := make([]message.Message, per)
		for j := range evs {
			evs[j] = eventstest.Valid(t, int64(i*per+j))
		}
		msgs[i] = events.Aggregate(evs)
	}
	failed, err := q.SendBatch(context.Background(), msgs)
	require.NoError(t, err)
	require.Empty(t, failed)
}

// WORKER_FLUSH_SIZE counts events: a backlog of full receives of
// aggregates is not gathered past it, where counting messages would gather
// every receive of the backlog into one INSERT (the flush interval is 90 s).
func TestTheFlushSizeCountsTheEventsOfAggregatesNotMessages(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 5*time.Minute)
	const messages, per, flushSize = 30, 20, 50
	sendAggregates(t, qs.Main, messages, per)
	time.Sleep(5 * time.Millisecond) // SentTimestamp has millisecond resolution: a backlog
	p := &batchEvents{Processor: &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}}
	c, err := consume.New(consume.Config{Pollers: 1, Flushers: 1, FlushSize: flushSize, WaitTime: time.Second,
		FlushInterval: 90 * time.Second, VisibilityTimeout: 5 * time.Minute}, qs.Main, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()
	waitRows(t, store, messages*per, qs.Spec.VisibilityTimeout+60*time.Second) // past a lost receive answer

	msgs, nEvents := p.seen()
	require.NotEmpty(t, nEvents)
	// A receive brings at most ten messages: a batch stops once it holds
	// FlushSize events, so it holds at most FlushSize plus one receive.
	for i, n := range nEvents {
		assert.LessOrEqual(t, n, flushSize+10*per, "batch %d: %d events in %d messages (all: %v)", i, n, msgs[i], nEvents)
		assert.LessOrEqual(t, msgs[i], 10, "a receive of 200 events already passes a FlushSize of 50: batches %v", msgs)
	}
	total := 0
	for _, n := range nEvents {
		total += n
	}
	assert.Equal(t, messages*per, total, "every event in a batch once")
}

// An aggregate with a poison event, through a database outage: its valid
// events wait for the database, and its poison event reaches the
// dead-letter queue once, not once per attempt.
func TestAPoisonEventOfAnAggregateIsDeadLetteredOnceThroughADatabaseOutage(t *testing.T) {
	t.Parallel()
	store := &flakyStore{Store: testenv.Store(t)}
	store.down.Store(true)
	qs := testenv.NewQueues(t, 5, 3*time.Second)
	poison := message.Message{Body: `{"type":"number.submitted","version":1,"id":"0190f5c4-7d3a-7b2e-9c1d-00000000aa02","value":"two","accepted_at":"2026-11-27T08:00:00Z","request_id":"rq-poison"}`}
	agg := events.Aggregate([]message.Message{eventstest.Valid(t, 1), poison, eventstest.Valid(t, 3)})
	failed, err := qs.Main.SendBatch(context.Background(), []message.Message{agg})
	require.NoError(t, err)
	require.Empty(t, failed)
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	c, err := consume.New(consume.Config{Pollers: 1, WaitTime: time.Second, VisibilityTimeout: 3 * time.Second}, qs.Main, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()

	testenv.Eventually(t, 60*time.Second, "an attempt while the database is down", func() bool { return store.inserts.Load() >= 1 })
	testenv.Eventually(t, 30*time.Second, "the consumer to pause", func() bool { return !c.Healthy() })
	store.down.Store(false)
	waitRows(t, store.Store, 2, 60*time.Second)
	testenv.Eventually(t, 30*time.Second, "receiving to resume", c.Healthy)

	dead := append(testenv.ReceiveAll(t, qs.DLQ, 1, qs.DLQWait()), testenv.ReceiveFor(t, qs.DLQ, 2*time.Second)...)
	require.NotEmpty(t, dead, "the poison event is in the dead-letter queue")
	for _, m := range dead {
		assert.Equal(t, poison.Body, m.Body)
	}
	assert.Len(t, dead, 1, "the poison event is dead-lettered once, not once per attempt")
}

// An aggregate as large as SQS allows (1 MiB, thousands of events; a
// hand-made one: the proxy's stay within 64 KiB) with a poison event in
// the middle: every valid event is stored, in one pass, and the poison
// event goes alone to the dead-letter queue.
func TestAnAggregateOfOneMebibyteIsStoredWholeAndItsPoisonEventGoesAlone(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 5*time.Minute)
	poison := message.Message{Body: `{"type":"number.submitted","version":1,"id":"0190f5c4-7d3a-7b2e-9c1d-00000000bb02","value":"many","accepted_at":"2026-11-27T08:00:00Z","request_id":"rq-big"}`}
	var evs []message.Message
	size := 2 + 100 // the brackets and the attributes
	for i := 0; ; i++ {
		next := eventstest.Valid(t, int64(i))
		if i == 2000 {
			next = poison
		}
		if size+len(next.Body)+1 > message.MaxRequestBytes {
			break
		}
		evs = append(evs, next)
		size += len(next.Body) + 1
	}
	require.Greater(t, len(evs), 2000, "the poison event is inside")
	agg := events.Aggregate(evs)
	require.LessOrEqual(t, agg.Size(), message.MaxRequestBytes)
	t.Logf("%d events, %d bytes", len(evs), agg.Size())
	failed, err := qs.Main.SendBatch(context.Background(), []message.Message{agg})
	require.NoError(t, err)
	require.Empty(t, failed)

	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	c, err := consume.New(consume.Config{Pollers: 1, Flushers: 1, WaitTime: time.Second, VisibilityTimeout: 5 * time.Minute}, qs.Main, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()
	waitRows(t, store, len(evs)-1, qs.Spec.VisibilityTimeout+60*time.Second) // past a lost receive answer
	dead := append(testenv.ReceiveAll(t, qs.DLQ, 1, qs.DLQWait()), testenv.ReceiveFor(t, qs.DLQ, 2*time.Second)...)
	require.Len(t, dead, 1, "the poison event, alone")
	assert.Equal(t, poison.Body, dead[0].Body)
	assert.Equal(t, events.ReasonInvalidField, dead[0].Text(message.AttrDLQReason))
	assert.Equal(t, "rq-big", dead[0].Text(events.AttrRequestID))
}
