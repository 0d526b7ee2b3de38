package sqsqueue_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// receiveAll drains a queue until want messages arrived or timeout.
func receiveAll(t *testing.T, q sqsqueue.Queue, want int, timeout time.Duration) []message.Message {
	t.Helper()
	var got []message.Message
	deadline := time.Now().Add(timeout)
	for len(got) < want && time.Now().Before(deadline) {
		msgs, err := q.Receive(context.Background(), 10, time.Second)
		require.NoError(t, err)
		got = append(got, msgs...)
	}
	return got
}

func TestPublisherAcknowledgesEachMessageOnceSQSHasIt(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	pub, err := sqsqueue.NewPublisher(qs.Client, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()

	const n = 95 // not a multiple of the batch size
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pub.Send(context.Background(), message.Message{
				Body: fmt.Sprintf(`{"n":%d}`, i), Attributes: map[string]message.Attribute{"request_id": message.String(fmt.Sprint("r", i)), "empty": message.String("")},
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got := receiveAll(t, qs.Main, n, 10*time.Second)
	require.Len(t, got, n, "every acknowledged message is in the queue")
	bodies := map[string]bool{}
	for _, m := range got {
		bodies[m.Body] = true
		assert.NotEmpty(t, m.Text("request_id"), "attributes travel with the message")
		assert.Equal(t, 1, m.ReceiveCount)
	}
	assert.Len(t, bodies, n, "no message sent twice")
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

	got := receiveAll(t, qs.Main, 12, 10*time.Second)
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
	again := receiveAll(t, qs.Main, 2, 5*time.Second)
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
		got := receiveAll(t, qs.Main, 1, 5*time.Second)
		require.Len(t, got, 1)
		require.NoError(t, qs.Main.ChangeVisibility(ctx, []string{got[0].ReceiptHandle}, 0))
	}
	// The third receive finds it moved.
	_, _ = qs.Main.Receive(ctx, 10, 0)
	dead := receiveAll(t, qs.DLQ, 1, 5*time.Second)
	require.Len(t, dead, 1)
	assert.Equal(t, "poison", dead[0].Body)
}

func TestPublisherAnswersUnavailableWhenSQSIsDown(t *testing.T) {
	t.Parallel()
	client, err := sqsqueue.NewClient(context.Background(), sqsqueue.ClientConfig{Endpoint: "http://127.0.0.1:1"})
	require.NoError(t, err)
	pub, err := sqsqueue.NewPublisher(client, sqsqueue.PublisherConfig{QueueURL: "http://127.0.0.1:1/000000000000/none", SendTimeout: 2 * time.Second}, zerolog.Nop())
	require.NoError(t, err)
	defer pub.Close()
	start := time.Now()
	err = pub.Send(context.Background(), message.Message{Body: "x"})
	assert.ErrorIs(t, err, number.ErrUnavailable)
	assert.Less(t, time.Since(start), 5*time.Second, "fails within the send timeout")

	q := sqsqueue.Queue{API: client, URL: "http://127.0.0.1:1/000000000000/none"}
	assert.ErrorIs(t, q.Ping(context.Background()), number.ErrUnavailable)
}

// blockingAPI never answers until released, to fill the publisher.
type blockingAPI struct {
	release chan struct{}
	calls   chan struct{}
}

func (b *blockingAPI) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	b.calls <- struct{}{}
	<-b.release
	return nil, fmt.Errorf("released")
}

func TestPublisherShedsLoadInsteadOfQueueingWithoutBound(t *testing.T) {
	t.Parallel()
	api := &blockingAPI{release: make(chan struct{}), calls: make(chan struct{}, 100)}
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: "q", MaxInFlight: 1, MaxPending: 5, MaxBatch: 1}, zerolog.Nop())
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() { results <- pub.Send(ctx, message.Message{Body: "x"}) }()
	}
	// One call in flight, one batch waiting for a slot, five pending: the
	// rest must be refused at once.
	overloaded := 0
	for i := 0; i < 20-1-1-5; i++ {
		select {
		case err := <-results:
			assert.ErrorIs(t, err, number.ErrOverloaded)
			overloaded++
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d sends were refused; the publisher queues without bound", overloaded)
		}
	}
	close(api.release)
	cancel()
	pub.Close()
}
