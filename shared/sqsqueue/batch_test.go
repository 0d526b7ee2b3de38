package sqsqueue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/sqsqueue/sqsfake"
	"github.com/numbers-app/numbers/shared/testenv"
)

func TestEveryEntryAPartialAnswerLeavesOutOrFailsIsAFailureOfItsClass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault sqsfake.Fault
		class error
	}{
		{"an entry in neither Successful nor Failed is unavailable", sqsfake.Unreported, number.ErrUnavailable},
		{"an entry failed by SQS itself is unavailable", sqsfake.ServerError, number.ErrUnavailable},
		{"a throttled entry is unavailable", sqsfake.Throttled, number.ErrUnavailable},
		{"an entry refused for its content is the message's fault", sqsfake.Refused, message.ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			qs := testenv.NewQueues(t, 5, 30*time.Second)
			fake := &sqsfake.Client{API: qs.Client, Fault: tt.fault, Pick: func(body string) bool { return strings.HasPrefix(body, "pick") }}
			q := sqsqueue.Queue{API: fake, URL: qs.Main.URL}
			ctx := context.Background()

			failed, err := q.SendBatch(ctx, []message.Message{{Body: "a"}, {Body: "pick-b"}, {Body: "c"}})
			assert.Equal(t, []int{1}, failed, "SendBatch: only the picked entry failed")
			assert.ErrorIs(t, err, tt.class)
			var be *sqsqueue.BatchError
			require.ErrorAs(t, err, &be)
			assert.ErrorIs(t, be.Errs[1], tt.class)

			assert.ErrorIs(t, q.Send(ctx, message.Message{Body: "pick-one"}), tt.class, "Queue.Send (the HTTP Lambda's path)")
			assert.NoError(t, q.Send(ctx, message.Message{Body: "other"}))

			pub, err := sqsqueue.NewPublisher(fake, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL}, testenv.Logger(t))
			require.NoError(t, err)
			defer pub.Close()
			errs := sendAtOnce(ctx, pub, 6, func(i int) message.Message {
				if i%2 == 0 {
					return message.Message{Body: fmt.Sprint("pick-", i)}
				}
				return message.Message{Body: fmt.Sprint("other-", i)}
			})
			for i, err := range errs {
				if i%2 == 0 {
					assert.ErrorIs(t, err, tt.class, "Publisher.Send of a picked message (the proxy's path)")
				} else {
					assert.NoError(t, err, "Publisher.Send of a message SQS took")
				}
			}
			assert.Positive(t, fake.Tampered.Load())
		})
	}
}

// big is a message of about n bytes (body and attributes).
func big(i, n int) message.Message {
	return message.Message{
		Body:       fmt.Sprintf("%03d:", i) + strings.Repeat("x", n-40),
		Attributes: map[string]message.Attribute{"request_id": message.String(fmt.Sprint("big-", i))},
	}
}

func TestBatchesStayWithinSQSRequestSizeByCountAndBytes(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	ctx := context.Background()
	// Ten legal messages of 120 KB are 1.2 MB together: past the limit of
	// one SendMessageBatch, so they must go in more than one call.
	var msgs []message.Message
	for i := range 10 {
		msgs = append(msgs, big(i, 120_000))
	}
	failed, err := qs.Main.SendBatch(ctx, msgs)
	require.NoError(t, err)
	assert.Empty(t, failed)

	pub, err := sqsqueue.NewPublisher(qs.Client, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: 50 * time.Millisecond}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	errs := sendAtOnce(ctx, pub, 10, func(i int) message.Message { return big(100+i, 120_000) })
	for _, err := range errs {
		require.NoError(t, err, "the publisher splits a batch that would pass the request size")
	}
	got := testenv.ReceiveAll(t, qs.Main, 20, qs.MainWait())
	assert.Len(t, got, 20)
}

func TestAMessageSQSWouldRefuseIsRefusedWithoutBeingSent(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	ctx := context.Background()
	tooBig := message.Message{Body: strings.Repeat("x", message.MaxRequestBytes+1)}
	badChar := message.Message{Body: "nul \x00 here"}
	tooMany := message.Message{Body: "b", Attributes: map[string]message.Attribute{}}
	for i := range message.MaxAttributes + 1 {
		tooMany.Attributes[fmt.Sprint("a", i)] = message.String("v")
	}
	badType := message.Message{Body: "b", Attributes: map[string]message.Attribute{"n": {DataType: "Number", StringValue: "twelve"}}}
	failed, err := qs.Main.SendBatch(ctx, []message.Message{tooBig, {Body: "fine"}, badChar, tooMany, badType})
	assert.Equal(t, []int{0, 2, 3, 4}, failed)
	assert.ErrorIs(t, err, message.ErrRefused)
	assert.False(t, errors.Is(err, number.ErrUnavailable), "nothing here is SQS's fault")
	got := testenv.ReceiveAll(t, qs.Main, 1, qs.MainWait())
	require.Len(t, got, 1)
	assert.Equal(t, "fine", got[0].Body)

	pub, err := sqsqueue.NewPublisher(qs.Client, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	assert.ErrorIs(t, pub.Send(ctx, tooBig), message.ErrRefused)
	assert.ErrorIs(t, qs.Main.Send(ctx, badChar), message.ErrRefused)
}

func TestAttributesKeepTheirDataTypeAndValueThroughSQS(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	attrs := map[string]message.Attribute{
		"s":    message.String("text"),
		"n":    {DataType: "Number", StringValue: "-12.5e3"},
		"b":    {DataType: "Binary", BinaryValue: []byte{0, 1, 2, 0xff}},
		"json": {DataType: "String.json", StringValue: `{"a":1}`},
		"int":  {DataType: "Number.int", StringValue: "42"},
		"bin":  {DataType: "Binary.gzip", BinaryValue: []byte("gz")},
	}
	failed, err := qs.Main.SendBatch(context.Background(), []message.Message{{Body: "typed", Attributes: attrs}})
	require.NoError(t, err)
	require.Empty(t, failed)
	got := testenv.ReceiveAll(t, qs.Main, 1, qs.MainWait())
	require.Len(t, got, 1)
	assert.Equal(t, attrs, got[0].Attributes)
}

// refusingAPI refuses a whole SendMessageBatch call for its content when
// any entry's body starts with "bad", as a server may instead of failing
// the one entry.
type refusingAPI struct {
	sqsqueue.API
	calls atomic.Int64
}

func (r *refusingAPI) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	r.calls.Add(1)
	for _, e := range in.Entries {
		if strings.HasPrefix(aws.ToString(e.MessageBody), "bad") {
			return nil, &smithy.GenericAPIError{Code: "InvalidMessageContents", Message: "refused", Fault: smithy.FaultClient}
		}
	}
	return r.API.SendMessageBatch(ctx, in, opts...)
}

func TestAWholeBatchRefusedForItsContentIsSplitToFindTheMessageAtFault(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &refusingAPI{API: qs.Client}
	q := sqsqueue.Queue{API: api, URL: qs.Main.URL}
	failed, err := q.SendBatch(context.Background(), []message.Message{{Body: "good-1"}, {Body: "bad"}, {Body: "good-2"}})
	assert.Equal(t, []int{1}, failed)
	assert.ErrorIs(t, err, message.ErrRefused)
	assert.False(t, errors.Is(err, number.ErrUnavailable))
	assert.Equal(t, []string{"good-1", "good-2"}, testenv.Bodies(testenv.ReceiveAll(t, qs.Main, 2, qs.MainWait())))
}
