package sqsqueue_test

import (
	"context"
	"fmt"
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

	got := testenv.ReceiveAll(t, qs.Main, 12, qs.MainWait())
	require.Len(t, got, 12)
	handles := make([]string, len(got))
	for i, m := range got {
		handles[i] = m.ReceiptHandle
	}
	st, err := qs.Main.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqsqueue.Stats{Visible: 0, InFlight: 12}, st)

	// Release two at once: they are received again, with a higher count
	// (at least 2: a receive whose answer was lost counted too).
	require.NoError(t, qs.Main.ChangeVisibility(ctx, handles[:2], 0))
	again := testenv.ReceiveAll(t, qs.Main, 2, qs.MainWait())
	require.Len(t, again, 2)
	assert.GreaterOrEqual(t, again[0].ReceiveCount, 2)

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
	// Receive and release it until a receive finds it moved: after two
	// receives, the third moves it. A receive whose answer was lost counts
	// as one of the two, so it may reach this test only once.
	delivered := 0
	testenv.Eventually(t, qs.MainWait(), "the redrive policy to move it", func() bool {
		got, err := qs.Main.Receive(ctx, 10, time.Second)
		require.NoError(t, err)
		for _, m := range got {
			delivered++
			require.NoError(t, qs.Main.ChangeVisibility(ctx, []string{m.ReceiptHandle}, 0))
		}
		st, err := qs.DLQ.Stats(ctx)
		require.NoError(t, err)
		return st.Visible == 1
	})
	assert.GreaterOrEqual(t, delivered, 1)
	assert.LessOrEqual(t, delivered, 2, "given out at most maxReceiveCount times")
	dead := testenv.ReceiveAll(t, qs.DLQ, 1, qs.DLQWait())
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
