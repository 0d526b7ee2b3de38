package service_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/dlq"
	"github.com/numbers-app/numbers/worker/service"
)

// The worker against the local SQS and Postgres: aggregated messages (an
// event in two of them, one twice in one) are stored once each, and an
// aggregate with a poison event leaves exactly that event in the
// dead-letter queue, with its reason, and stores the others.
func TestTheWorkerStoresEveryEventOfAggregatesOnceAndDeadLettersOnlyThePoisonEvent(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	w, stop := startWorker(t, qs, testenv.DatabaseURL(t), consume.Config{Pollers: 2, Flushers: 2, FlushSize: 40})

	// Six aggregates of 25 valid events; each repeats an event of the one
	// before it, and the last holds one event twice.
	var aggregates [][]message.Message
	for a := range 6 {
		evs := make([]message.Message, 25)
		for i := range evs {
			evs[i] = eventstest.Valid(t, int64(a*100+i))
		}
		if a > 0 {
			evs[0] = aggregates[a-1][24]
		}
		aggregates = append(aggregates, evs)
	}
	aggregates[5][10] = aggregates[5][11]
	poisonID := uuid.NewString()
	poison := message.Message{Body: `{"type":"number.submitted","version":1,"id":"` + poisonID +
		`","value":"seven","accepted_at":"2026-11-27T08:00:00Z","request_id":"poison-rq"}`}
	withPoison := []message.Message{eventstest.Valid(t, 1000), poison, eventstest.Valid(t, 1001)}
	aggregates = append(aggregates, withPoison)

	want := map[string]int64{}
	var msgs []message.Message
	sentEvents := 0
	for _, evs := range aggregates {
		for _, e := range evs {
			items, err := events.DecodeMessage(e.Body)
			require.NoError(t, err)
			if items[0].Err == nil {
				want[items[0].Submission.ID] = items[0].Submission.Value
			}
		}
		sentEvents += len(evs)
		msgs = append(msgs, events.Aggregate(evs))
	}
	single := eventstest.Valid(t, 2000)
	want[decodeID(t, single)] = 2000
	msgs = append(msgs, single)
	sentEvents++
	failed, err := qs.Main.SendBatch(context.Background(), msgs)
	require.NoError(t, err)
	require.Empty(t, failed)
	require.Len(t, want, 6*25-5-1+2+1, "distinct valid events")

	testenv.Eventually(t, 60*time.Second, "every valid event stored", func() bool {
		n, err := w.Core.Store.Count(context.Background())
		return err == nil && n >= len(want)
	})
	dead := append(testenv.ReceiveAll(t, qs.DLQ, 1, qs.DLQWait()), testenv.ReceiveFor(t, qs.DLQ, 2*time.Second)...)
	require.Len(t, dead, 1, "one dead letter: the poison event, alone")
	assert.Equal(t, poison.Body, dead[0].Body)
	assert.Equal(t, events.ReasonInvalidField, dead[0].Text(message.AttrDLQReason))
	assert.Contains(t, dead[0].Text(message.AttrDLQDetail), "event 2 of 3")
	assert.NotEmpty(t, dead[0].Text(message.AttrDLQMessageID), "the id of the aggregate it came from")
	assert.Empty(t, dead[0].Text(events.AttrEventCount))
	assert.Equal(t, "poison-rq", dead[0].Text(events.AttrRequestID), "the request id of the event's body, for `worker dlq peek` and its filter")

	n, err := w.Core.Store.Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, len(want), n, "every valid event stored once, nothing else")
	for id, v := range want {
		got, err := w.Core.Store.Get(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, v, got.Value)
	}
	assert.Empty(t, testenv.ReceiveFor(t, qs.Main, 2*time.Second), "every message done and deleted")
	// The receive histogram counts events, not messages (a receive whose
	// answer was lost counts its messages again, so at least).
	assert.GreaterOrEqual(t, receivedEvents(t, w), float64(sentEvents))
	stop()
}

// An aggregate the redrive policy moved to the dead-letter queue (after
// transient failures: no dlq_* attributes) and a poison event the worker
// dead-lettered from another aggregate, replayed with `worker dlq replay`:
// the aggregate's valid events are stored once each, and each poison event
// comes back alone with its reason, its request id and its replay count
// (the aggregate's, for the one that came with it); a dry run's filter on
// attr.request_id finds the dead-lettered one.
func TestAReplayedAggregateIsStoredAndAReplayedPoisonEventComesBackAlone(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	dbURL := testenv.DatabaseURL(t)
	w, stop := startWorker(t, qs, dbURL, consume.Config{Pollers: 1, Flushers: 1})
	count := func() int {
		n, err := w.Core.Store.Count(context.Background())
		require.NoError(t, err)
		return n
	}

	// The worker dead-letters the poison event of an aggregate.
	poison := message.Message{Body: `{"type":"number.submitted","version":1,"id":"` + uuid.NewString() +
		`","value":1.5,"accepted_at":"2026-11-27T08:00:00Z","request_id":"poison-rq"}`}
	first := eventstest.Valid(t, 1)
	_, err := qs.Main.SendBatch(context.Background(), []message.Message{events.Aggregate([]message.Message{first, poison})})
	require.NoError(t, err)
	testenv.Eventually(t, 60*time.Second, "the valid event stored", func() bool { return count() == 1 })
	testenv.Eventually(t, 60*time.Second, "the poison event dead-lettered", func() bool {
		st, err := qs.DLQ.Stats(context.Background())
		return err == nil && st.Visible == 1
	})
	// The worker stops while the replay runs: one run of it then sees the
	// two messages, not the poison event dead-lettered again.
	stop()
	// The redrive policy moves an aggregate as it is.
	// This one carries a poison event too: once replayed, its letter must
	// keep the aggregate's replay count.
	poison2 := message.Message{Body: `{"type":"number.submitted","version":1,"id":"` + uuid.NewString() +
		`","value":"x","accepted_at":"2026-11-27T08:00:00Z","request_id":"poison-rq-2"}`}
	redriven := events.Aggregate([]message.Message{eventstest.Valid(t, 2), first, poison2, eventstest.Valid(t, 3)})
	_, err = qs.DLQ.SendBatch(context.Background(), []message.Message{redriven})
	require.NoError(t, err)

	filter, err := dlq.ParseFilter("attr.request_id=poison-rq")
	require.NoError(t, err)
	var out bytes.Buffer
	res, err := (&dlq.Replayer{DLQ: qs.DLQ, Main: qs.Main, Out: &out, Config: dlq.ReplayConfig{DryRun: true, Filter: filter, Wait: time.Second, Hold: 2 * time.Second}}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, res.WouldReplay, "the filter on the request id finds the poison event: %s", out.String())
	assert.Contains(t, out.String(), "request_id=poison-rq")
	assert.Contains(t, out.String(), "reason="+events.ReasonInvalidField)

	// The dry run's hold ends; then everything goes back.
	var replayed int
	testenv.Eventually(t, 60*time.Second, "both messages replayed", func() bool {
		res, err := (&dlq.Replayer{DLQ: qs.DLQ, Main: qs.Main, Out: io.Discard, Config: dlq.ReplayConfig{Wait: time.Second}}).Run(context.Background())
		require.NoError(t, err)
		replayed += res.Replayed
		return replayed >= 2
	})
	assert.Equal(t, 2, replayed)
	w, stop = startWorker(t, qs, dbURL, consume.Config{Pollers: 1, Flushers: 1})
	defer stop()
	testenv.Eventually(t, 60*time.Second, "the redriven aggregate's events stored", func() bool { return count() == 3 })

	// The worker dead-letters them once it has the replayed messages (a
	// receive of its whose answer is lost delays that by the main queue's
	// visibility timeout), and a lost answer here by the DLQ's.
	dead := testenv.ReceiveAll(t, qs.DLQ, 2, qs.Spec.VisibilityTimeout+qs.DLQWait())
	dead = append(dead, testenv.ReceiveFor(t, qs.DLQ, 2*time.Second)...)
	require.Len(t, dead, 2, "only the poison events are back in the dead-letter queue")
	byBody := map[string]message.Message{}
	for _, m := range dead {
		byBody[m.Body] = m
	}
	for body, rid := range map[string]string{poison.Body: "poison-rq", poison2.Body: "poison-rq-2"} {
		m, ok := byBody[body]
		require.True(t, ok, "each poison event alone: %s", body)
		assert.Equal(t, "1", m.Text(message.AttrReplayCount), "its replay count, so the replay cap holds")
		assert.Equal(t, events.ReasonInvalidField, m.Text(message.AttrDLQReason))
		assert.Equal(t, rid, m.Text(events.AttrRequestID))
	}
	assert.Equal(t, 3, count(), "every valid event stored once")
}

func decodeID(t *testing.T, m message.Message) string {
	t.Helper()
	items, err := events.DecodeMessage(m.Body)
	require.NoError(t, err)
	require.NoError(t, items[0].Err)
	return items[0].Submission.ID
}

// receivedEvents is the sum of the worker's sqs_receive_batch_size.
func receivedEvents(t *testing.T, w *service.Worker) float64 {
	t.Helper()
	mfs, err := w.Core.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "numbers_sqs_receive_batch_size" {
			return mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	t.Fatal("no numbers_sqs_receive_batch_size histogram")
	return 0
}
