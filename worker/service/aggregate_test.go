package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/service"
)

// The worker against the local SQS and Postgres: aggregated messages (an
// event in two of them, one twice in one) are stored once each, and an
// aggregate with a poison event leaves exactly that event in the
// dead-letter queue, with its reason, and stores the others.
func TestTheWorkerStoresEveryEventOfAggregatesOnceAndDeadLettersOnlyThePoisonEvent(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	common := testenv.Common(t, testenv.DatabaseURL(t), qs)
	common.LogLevel, common.LogFormat = "info", "json"
	cfg := service.Config{
		Common:  common,
		Migrate: true, KeyWindow: time.Hour, Config: consume.Config{Pollers: 2, Flushers: 2, FlushSize: 40, FlushInterval: 10 * time.Millisecond,
			WaitTime: time.Second, VisibilityTimeout: 30 * time.Second, ShutdownTimeout: 5 * time.Second},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := service.NewWorker(ctx, cfg, testenv.Logger(t), service.WorkerOptions{})
	require.NoError(t, err)
	t.Cleanup(w.Close)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

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
	dead := receiveFor(t, qs.DLQ, 3*time.Second)
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
	assert.Empty(t, receiveFor(t, qs.Main, 2*time.Second), "every message done and deleted")
	// The receive histogram counts events, not messages (a receive whose
	// answer was lost counts its messages again, so at least).
	assert.GreaterOrEqual(t, receivedEvents(t, w), float64(sentEvents))

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "a clean shutdown")
	case <-time.After(60 * time.Second):
		t.Fatal("the worker did not stop")
	}
}

func decodeID(t *testing.T, m message.Message) string {
	t.Helper()
	items, err := events.DecodeMessage(m.Body)
	require.NoError(t, err)
	require.NoError(t, items[0].Err)
	return items[0].Submission.ID
}

// receiveFor receives everything q delivers within d.
func receiveFor(t *testing.T, q sqsqueue.Queue, d time.Duration) []message.Message {
	t.Helper()
	var got []message.Message
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		msgs, err := q.Receive(context.Background(), 10, time.Second)
		require.NoError(t, err)
		got = append(got, msgs...)
	}
	return got
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
