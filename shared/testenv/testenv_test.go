package testenv_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// lostAnswerSQS drops the answer of its first ReceiveMessage that brought
// messages, after SQS has given it, as a retried call whose first answer
// was cut does: the messages stay in flight until their visibility
// timeout ends.
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

// A visibility timeout longer than the 10 s the sqsqueue tests' helper
// once waited: the lost messages come back after it, and ReceiveAll must
// still be receiving, and count each once.
func TestReceiveAllOutlastsALostReceiveAnswer(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 12*time.Second)
	_, err := qs.Main.SendBatch(context.Background(), []message.Message{{Body: "a"}, {Body: "b"}, {Body: "c"}})
	require.NoError(t, err)
	lossy := sqsqueue.Queue{API: &lostAnswerSQS{API: qs.Client}, URL: qs.Main.URL}
	got := testenv.ReceiveAll(t, lossy, 3, qs.MainWait())
	assert.Equal(t, []string{"a", "b", "c"}, testenv.Bodies(got), "each once, after the lost ones' visibility timeout")
}

// Messages that come again (here after a visibility timeout of 3 s, as
// ReceiveUntil waits for them to) count once, and the later delivery takes
// the place of the earlier: its receipt handle is the one that deletes.
func TestReceiveUntilCountsARedeliveredMessageOnceWithItsLatestReceipt(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 3*time.Second)
	ctx := context.Background()
	_, err := qs.Main.SendBatch(ctx, []message.Message{{Body: "a"}, {Body: "b"}})
	require.NoError(t, err)
	got := testenv.ReceiveUntil(t, qs.Main, qs.MainWait(), func(got []message.Message) bool {
		again := 0
		for _, m := range got {
			if m.ReceiveCount > 1 {
				again++
			}
		}
		return again == 2
	})
	require.Equal(t, []string{"a", "b"}, testenv.Bodies(got), "each once")
	var handles []string
	for _, m := range got {
		assert.Greater(t, m.ReceiveCount, 1, "the later delivery")
		handles = append(handles, m.ReceiptHandle)
	}
	_, err = qs.Main.Delete(ctx, handles)
	require.NoError(t, err)
	st, err := qs.Main.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqsqueue.Stats{}, st, "the receipt handles were the current ones: both deleted")
}
