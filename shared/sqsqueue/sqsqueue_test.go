package sqsqueue_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// lostAnswerWait is how long receiveAll goes on receiving while messages
// are missing: past the 30 s visibility timeout of these tests' queues.
// Delivery is at-least-once: when a ReceiveMessage answer is cut, the SDK
// retries the call, and the messages of the lost answer stay invisible
// until their visibility timeout ends. A helper that gave up after 10 s
// found none of them, twice in a day of CI runs on a busy machine.
const lostAnswerWait = 40 * time.Second

// receiveAll receives until want distinct messages (by SQS message ID: a
// redelivered one counts once) have come, for at most lostAnswerWait. For
// "nothing more came", use testenv.ReceiveFor.
func receiveAll(t *testing.T, q sqsqueue.Queue, want int) []message.Message {
	t.Helper()
	return receiveUntil(t, q, func(got []message.Message) bool { return len(got) >= want })
}

// receiveUntil receives distinct messages until done says they are all
// there, for at most lostAnswerWait.
func receiveUntil(t *testing.T, q sqsqueue.Queue, done func(got []message.Message) bool) []message.Message {
	t.Helper()
	var got []message.Message
	seen := map[string]bool{}
	for deadline := time.Now().Add(lostAnswerWait); !done(got) && time.Now().Before(deadline); {
		msgs, err := q.Receive(context.Background(), 10, time.Second)
		require.NoError(t, err)
		for _, m := range msgs {
			if !seen[m.ID] {
				seen[m.ID] = true
				got = append(got, m)
			}
		}
	}
	return got
}

// lostAnswerSQS drops the answer of its first ReceiveMessage after SQS has
// given it, as a retried call whose first answer was cut does: the
// messages stay in flight until their visibility timeout ends.
type lostAnswerSQS struct {
	sqsqueue.API
	lost atomic.Bool
}

func (l *lostAnswerSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out, err := l.API.ReceiveMessage(ctx, in, opts...)
	if err == nil && len(out.Messages) > 0 && l.lost.CompareAndSwap(false, true) {
		return &sqs.ReceiveMessageOutput{}, nil
	}
	return out, err
}

// A visibility timeout longer than the 10 s the helper used to wait: the
// lost messages come back after it, and the helper must still be there.
func TestReceiveAllOutlastsALostReceiveAnswer(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 12*time.Second)
	_, err := qs.Main.SendBatch(context.Background(), []message.Message{{Body: "a"}, {Body: "b"}, {Body: "c"}})
	require.NoError(t, err)
	lossy := sqsqueue.Queue{API: &lostAnswerSQS{API: qs.Client}, URL: qs.Main.URL}
	got := receiveAll(t, lossy, 3)
	assert.ElementsMatch(t, []string{"a", "b", "c"}, testenv.Bodies(got), "each once, after the lost ones' visibility timeout")
}

func TestDeleteAndVisibility(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	ctx := context.Background()
	msgs := make([]message.Message, 12)
	for i := range msgs {
		msgs[i] = message.Message{Body: fmt.Sprint(i)}
	}
	failed, err := qs.Main.SendBatch(ctx, msgs)
	require.NoError(t, err)
	require.Empty(t, failed)

	got := receiveAll(t, qs.Main, 12)
	require.Len(t, got, 12)
	handles := make([]string, len(got))
	for i, m := range got {
		handles[i] = m.ReceiptHandle
	}
	st, err := qs.Main.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqsqueue.Stats{Visible: 0, InFlight: 12}, st)

	// Release two at once: they are received again, with a higher count.
	require.NoError(t, qs.Main.ChangeVisibility(ctx, handles[:2], 0))
	again := receiveAll(t, qs.Main, 2)
	require.Len(t, again, 2)
	assert.Equal(t, 2, again[0].ReceiveCount)

	notDeleted, err := qs.Main.Delete(ctx, append(handles[2:], again[0].ReceiptHandle, again[1].ReceiptHandle))
	require.NoError(t, err)
	assert.Empty(t, notDeleted)
	st, err = qs.Main.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqsqueue.Stats{}, st, "everything deleted")
}

func TestRedrivePolicyMovesAMessageToTheDLQAfterMaxReceives(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 2, 30*time.Second)
	ctx := context.Background()
	_, err := qs.Main.SendBatch(ctx, []message.Message{{Body: "poison"}})
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		got := receiveAll(t, qs.Main, 1)
		require.Len(t, got, 1)
		require.NoError(t, qs.Main.ChangeVisibility(ctx, []string{got[0].ReceiptHandle}, 0))
	}
	// The third receive finds it moved.
	_, _ = qs.Main.Receive(ctx, 10, time.Second)
	dead := receiveAll(t, qs.DLQ, 1)
	require.Len(t, dead, 1)
	assert.Equal(t, "poison", dead[0].Body)
}

// A wait under a second cannot be asked of SQS through the SDK: it leaves a
// WaitTimeSeconds of 0 out, and SQS waits the queue's
// ReceiveMessageWaitTimeSeconds instead (20 s on the main queue infra/
// creates; 2 s here). Receive refuses such a wait instead of silently
// waiting longer than its caller's deadline allows.
func TestAWaitUnderASecondIsRefusedNotTurnedIntoTheQueuesDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := testenv.SQSClient(t)
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(fmt.Sprintf("t-wait-%d", time.Now().UnixNano())),
		Attributes: map[string]string{string(types.QueueAttributeNameReceiveMessageWaitTimeSeconds): "2"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}) })
	q := sqsqueue.Queue{API: c, URL: aws.ToString(out.QueueUrl)}

	// The premise: asked for no wait, the SDK sends none, and SQS waits the
	// queue's 2 s on an empty queue (a lower bound, which a busy machine can
	// only lengthen). Should the SDK ever send 0, this fails, and short
	// polls could be allowed again.
	began := time.Now()
	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: out.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(began), 1500*time.Millisecond, "a receive asked for no wait waited the queue's default")

	for _, wait := range []time.Duration{0, 500 * time.Millisecond, 21 * time.Second} {
		_, err := q.Receive(ctx, 10, wait)
		assert.ErrorIs(t, err, sqsqueue.ErrWait, "wait %v", wait)
	}
	// The shortest wait that can be sent is accepted.
	_, err = q.Receive(ctx, 10, sqsqueue.MinWait)
	assert.NoError(t, err)
}
