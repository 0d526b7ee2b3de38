// Package dlqtest has the fixtures the dead-letter engine's and CLI's tests
// share: fresh queues on the real local SQS, queues filled with events
// (eventstest has the events), and the worker's persist core run over a
// queue.
package dlqtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/persist"
)

// Queue is what the fixtures need from a queue (sqsqueue.Queue).
type Queue interface {
	Receive(ctx context.Context, max int, wait time.Duration) ([]message.Message, error)
	ChangeVisibility(ctx context.Context, handles []string, d time.Duration) error
	SendBatch(ctx context.Context, msgs []message.Message) ([]int, error)
	Stats(ctx context.Context) (sqsqueue.Stats, error)
}

// lateWait is how long Contents and Work go on receiving, after the last
// message came, while the queue counts messages in flight that they do
// not hold: the messages of a ReceiveMessage answer that was lost (the
// SDK retried the call) come again only after the queue's visibility
// timeout, at most 30 s on the queues of these tests (Setup's, and every
// DLQ: testenv.DLQVisibility), plus testenv.ReceiveMargin.
const lateWait = testenv.DLQVisibility + testenv.ReceiveMargin

// Setup is a fresh main queue (maxReceiveCount 5) and DLQ on the local SQS.
func Setup(t *testing.T) testenv.Queues {
	t.Helper()
	return testenv.NewQueues(t, 5, 30*time.Second)
}

// Put sends msgs and requires that SQS took every one.
func Put(t *testing.T, q Queue, msgs ...message.Message) {
	t.Helper()
	failed, err := q.SendBatch(context.Background(), msgs)
	require.NoError(t, err)
	require.Empty(t, failed)
}

// PutValid puts n valid events (values 0 to n-1) in q and returns them.
func PutValid(t *testing.T, q Queue, n int) []message.Message {
	t.Helper()
	msgs := make([]message.Message, 0, n)
	for i := range n {
		msgs = append(msgs, eventstest.Valid(t, int64(i)))
	}
	Put(t, q, msgs...)
	return msgs
}

// Contents reads every message of a queue once and makes them visible
// again. It reads until a receive brings nothing new and the queue counts
// no message visible nor in flight beyond those it holds: a message in
// flight elsewhere (a lost receive answer's, a crashed reader's) is waited
// for, up to lateWait after the last new one came.
func Contents(t *testing.T, q Queue) []message.Message {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	var all []message.Message
	var handles []string
	last := time.Now()
	for {
		got, err := q.Receive(ctx, 10, emptyWait)
		require.NoError(t, err)
		fresh := 0
		for _, m := range got {
			handles = append(handles, m.ReceiptHandle)
			if !seen[m.ID] {
				seen[m.ID] = true
				all = append(all, m)
				fresh++
			}
		}
		if fresh == 0 {
			if settled(t, q, len(all), last) {
				break
			}
			continue
		}
		last = time.Now()
		// Hold them while the scan goes on, so each is read once.
		_ = q.ChangeVisibility(ctx, handles[len(handles)-len(got):], time.Minute)
	}
	require.NoError(t, q.ChangeVisibility(ctx, handles, 0))
	return all
}

// settled says, after a receive that brought nothing new, whether q is
// done: nothing visible and nothing in flight beyond the held messages the
// caller has received and not deleted, or lateWait passed since the last new message came (then
// it logs what was still in flight).
func settled(t *testing.T, q Queue, held int, last time.Time) bool {
	t.Helper()
	st, err := q.Stats(context.Background())
	require.NoError(t, err)
	if st.Visible == 0 && st.InFlight <= held {
		return true
	}
	if time.Since(last) > lateWait {
		t.Logf("%d messages in flight that no receive brought within %s", st.InFlight-held, lateWait)
		return true
	}
	return false
}

// emptyWait is the wait of the receives that decide a queue is empty: a
// long poll, as the scanner's (dlq.DefaultWait). A short poll, which SQS
// answers from a sample of its servers, would not mean an empty queue when
// empty (and Queue.Receive does not make one: sqsqueue.MinWait).
const emptyWait = time.Second

// Work runs the worker's persist core over everything in the main queue,
// as the ECS worker does, and deletes what it is done with. It stops when
// a receive brings nothing and the queue is empty; while the queue counts
// messages in flight (a lost receive answer's), it waits for them, up to
// lateWait after the last message came.
func Work(t *testing.T, q testenv.Queues, store number.Writer) persist.Result {
	t.Helper()
	p := &persist.Persister{Store: store, DLQ: q.DLQ, Log: testenv.Logger(t), Now: time.Now}
	var total persist.Result
	last := time.Now()
	for {
		got, err := q.Main.Receive(context.Background(), 10, emptyWait)
		require.NoError(t, err)
		if len(got) == 0 {
			if settled(t, q.Main, 0, last) {
				return total
			}
			continue
		}
		last = time.Now()
		res := p.Process(context.Background(), got)
		require.NoError(t, res.Err)
		handles := make([]string, len(res.Done))
		for i, d := range res.Done {
			handles[i] = got[d].ReceiptHandle
		}
		_, err = q.Main.Delete(context.Background(), handles)
		require.NoError(t, err)
		total.Stored += res.Stored
		total.Duplicates += res.Duplicates
		total.Poisoned += res.Poisoned
	}
}
