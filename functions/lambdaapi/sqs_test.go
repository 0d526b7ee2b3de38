package lambdaapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	evs "github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/functions/lambdaapi"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/persist"
)

// Message ids in testdata/sqs-batch.json: two valid events around a poison one.
const (
	validID1 = "2e1424d4-f796-459a-8184-9c92662be6da"
	poisonID = "5d3e7f38-0b0b-4a0c-9e36-1d1a6c3e4f01"
	validID2 = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
)

// dlq records what is dead-lettered, or fails every send.
type dlq struct {
	fail error
	got  []message.Message
}

func (d *dlq) SendBatch(_ context.Context, msgs []message.Message) ([]int, error) {
	if d.fail != nil {
		idx := make([]int, len(msgs))
		for i := range msgs {
			idx[i] = i
		}
		return idx, d.fail
	}
	d.got = append(d.got, msgs...)
	return nil, nil
}

type failingStore struct{}

func (failingStore) Insert(context.Context, []number.Submission) (int, error) {
	return 0, fmt.Errorf("insert numbers: %w: connection refused", number.ErrUnavailable)
}

func sqsResponse(t *testing.T, p lambdaapi.Processor) (events.SQSEventResponse, error) {
	t.Helper()
	out, err := lambda.NewHandler(lambdaapi.SQS(p, testenv.Logger(t), lambdaapi.SQSConfig{})).Invoke(context.Background(), golden(t, "sqs-batch.json"))
	if err != nil {
		return events.SQSEventResponse{}, err
	}
	var resp events.SQSEventResponse
	require.NoError(t, json.Unmarshal(out, &resp), "response: %s", out)
	return resp, nil
}

func TestSQSStoresValidRecordsAndDeadLettersPoisonSoLambdaDeletesAll(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	d := &dlq{}
	p := &persist.Persister{Store: store, DLQ: d, Log: testenv.Logger(t), Now: time.Now}

	resp, err := sqsResponse(t, p)
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)

	n, err := store.Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	got, err := store.Get(context.Background(), "0190f5c4-7d3a-7b2e-9c1d-000000000002")
	require.NoError(t, err)
	assert.Equal(t, int64(9223372036854775807), got.Value)
	require.Len(t, d.got, 1)
	assert.Equal(t, evs.ReasonInvalidField, d.got[0].Text(message.AttrDLQReason))
	assert.Equal(t, poisonID, d.got[0].Text(message.AttrDLQMessageID))
	assert.Equal(t, "golden-sqs-3", d.got[0].Text(evs.AttrRequestID), "message attributes reach the core")

	// Delivered again (Lambda retries, SQS redelivers): stored once.
	resp, err = sqsResponse(t, p)
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
	n, err = store.Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

func TestSQSReportsOnlyTheRecordsThatFailedTransiently(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	p := &persist.Persister{Store: store, DLQ: &dlq{fail: errors.New("dlq unreachable")}, Log: testenv.Logger(t), Now: time.Now}

	resp, err := sqsResponse(t, p)
	require.NoError(t, err, "a partial failure is not an error")
	assert.Equal(t, []events.SQSBatchItemFailure{{ItemIdentifier: poisonID}}, resp.BatchItemFailures)
	n, err := store.Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the valid records are stored all the same")
}

func TestSQSReturnsAnErrorWhenTheWholeBatchFailed(t *testing.T) {
	t.Parallel()
	p := &persist.Persister{Store: failingStore{}, DLQ: &dlq{fail: errors.New("dlq unreachable")}, Log: testenv.Logger(t), Now: time.Now}
	_, err := sqsResponse(t, p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "every record of the batch failed (3 records)")
	assert.Contains(t, err.Error(), "connection refused")
}

func TestSQSAnswersAnEmptyBatchWithNoFailures(t *testing.T) {
	t.Parallel()
	resp, err := lambdaapi.SQS(&persist.Persister{Store: failingStore{}, DLQ: &dlq{}, Log: testenv.Logger(t), Now: time.Now},
		testenv.Logger(t), lambdaapi.SQSConfig{})(context.Background(), events.SQSEvent{})
	require.NoError(t, err)
	assert.Empty(t, resp.BatchItemFailures)
}

func TestSQSFailureWhenOnlyTheStoreIsDownListsTheValidRecords(t *testing.T) {
	t.Parallel()
	d := &dlq{}
	p := &persist.Persister{Store: failingStore{}, DLQ: d, Log: testenv.Logger(t), Now: time.Now}
	resp, err := sqsResponse(t, p)
	require.NoError(t, err)
	assert.ElementsMatch(t, []events.SQSBatchItemFailure{{ItemIdentifier: validID1}, {ItemIdentifier: validID2}}, resp.BatchItemFailures)
	assert.Len(t, d.got, 1, "the poison record still went to the dead-letter queue")
}

func TestMessagesKeepEveryAttributeTypeAndValue(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	msgs := lambdaapi.Messages([]events.SQSMessage{{
		MessageId: "m1", ReceiptHandle: "h1", Body: "b",
		Attributes: map[string]string{"ApproximateReceiveCount": "3", "SentTimestamp": "1795766400001"},
		MessageAttributes: map[string]events.SQSMessageAttribute{
			"request_id": {DataType: "String", StringValue: str("rq")},
			"n":          {DataType: "Number", StringValue: str("42.5")},
			"n_int":      {DataType: "Number.int", StringValue: str("7")},
			"blob":       {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
			"blob_png":   {DataType: "Binary.png", BinaryValue: []byte{9}},
			"doc":        {DataType: "String.json", StringValue: str(`{"a":1}`)},
		},
	}})
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, "m1", m.ID)
	assert.Equal(t, "h1", m.ReceiptHandle)
	assert.Equal(t, 3, m.ReceiveCount)
	assert.Equal(t, time.UnixMilli(1795766400001).UTC(), m.SentAt)
	assert.Equal(t, map[string]message.Attribute{
		"request_id": {DataType: "String", StringValue: "rq"},
		"n":          {DataType: "Number", StringValue: "42.5"},
		"n_int":      {DataType: "Number.int", StringValue: "7"},
		"blob":       {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
		"blob_png":   {DataType: "Binary.png", BinaryValue: []byte{9}},
		"doc":        {DataType: "String.json", StringValue: `{"a":1}`},
	}, m.Attributes)
	assert.Equal(t, "rq", m.Text(evs.AttrRequestID))
}

// recordingQueue records visibility changes and passes them to the real queue.
type recordingQueue struct {
	lambdaapi.Visibility
	mu   sync.Mutex
	got  map[string]time.Duration // receipt handle -> visibility
	errs []error
}

func (r *recordingQueue) ChangeVisibility(ctx context.Context, handles []string, d time.Duration) error {
	err := r.Visibility.ChangeVisibility(ctx, handles, d)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range handles {
		r.got[h] = d
	}
	r.errs = append(r.errs, err)
	return err
}

func TestSQSHoldsBackRecordsThatFailedForADependencyLongerWithEachReceive(t *testing.T) {
	t.Parallel()
	// The queue's own visibility is short; the handler holds failed
	// records back far longer than that.
	qs := testenv.NewQueues(t, 5, 3*time.Second)
	ctx := context.Background()
	var sent []message.Message
	for i := 0; i < 3; i++ {
		sent = append(sent, eventstest.Valid(t, int64(i)))
	}
	_, err := qs.Main.SendBatch(ctx, sent)
	require.NoError(t, err)
	// Each once, with its latest receipt handle: a message of a lost
	// receive answer comes again after the 3 s visibility, and so may the
	// others meanwhile.
	msgs := testenv.ReceiveAll(t, qs.Main, 3, 30*time.Second)
	require.Len(t, msgs, 3)
	// As if the first two records had been received once, and the third
	// four times already (their real counts are 1, or more after a lost
	// answer).
	var got []events.SQSMessage
	for i, m := range msgs {
		got = append(got, events.SQSMessage{MessageId: m.ID, ReceiptHandle: m.ReceiptHandle, Body: m.Body,
			Attributes: map[string]string{"ApproximateReceiveCount": []string{"1", "1", "4"}[i]}})
	}

	rec := &recordingQueue{Visibility: qs.Main, got: map[string]time.Duration{}}
	p := &persist.Persister{Store: failingStore{}, DLQ: &dlq{}, Log: testenv.Logger(t), Now: time.Now}
	_, err = lambdaapi.SQS(p, testenv.Logger(t), lambdaapi.SQSConfig{Queue: rec, RetryBase: 30 * time.Second})(ctx, events.SQSEvent{Records: got})
	require.ErrorIs(t, err, lambdaapi.ErrBatchFailed, "every record failed: the store is down")

	for _, e := range rec.errs {
		require.NoError(t, e, "SQS accepted the visibility change")
	}
	require.Len(t, rec.got, 3, "every failed record is held back")
	for _, r := range got[:2] {
		assert.GreaterOrEqual(t, rec.got[r.ReceiptHandle], 30*time.Second, "first receive: the base")
		assert.LessOrEqual(t, rec.got[r.ReceiptHandle], 45*time.Second, "plus at most half of it as jitter")
	}
	assert.GreaterOrEqual(t, rec.got[got[2].ReceiptHandle], 240*time.Second, "fourth receive: the base doubled three times")

	// Well past the queue's 3s visibility the records are still invisible.
	time.Sleep(8 * time.Second)
	st, err := qs.Main.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, st.Visible)
	assert.Equal(t, 3, st.InFlight)
}

func TestRetryVisibilityDoublesUpToTwelveHours(t *testing.T) {
	assert.Equal(t, 30*time.Second, lambdaapi.RetryVisibility(1, 30*time.Second))
	assert.Equal(t, 60*time.Second, lambdaapi.RetryVisibility(2, 30*time.Second))
	assert.Equal(t, 8*time.Minute, lambdaapi.RetryVisibility(5, 30*time.Second))
	assert.Equal(t, lambdaapi.MaxVisibility, lambdaapi.RetryVisibility(30, 30*time.Second))
	assert.Equal(t, lambdaapi.MaxVisibility, lambdaapi.RetryVisibility(1000, 30*time.Second))
}
