package lambdaapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	evs "github.com/numbers-app/numbers/events"
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
	got  []evs.Message
}

func (d *dlq) SendBatch(_ context.Context, msgs []evs.Message) ([]int, error) {
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
	out, err := lambda.NewHandler(lambdaapi.SQS(p, testenv.Logger(t))).Invoke(context.Background(), golden(t, "sqs-batch.json"))
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
	assert.Equal(t, evs.ReasonInvalidField, d.got[0].Attributes[persist.AttrDLQReason])
	assert.Equal(t, poisonID, d.got[0].Attributes[persist.AttrDLQMessageID])
	assert.Equal(t, "golden-sqs-3", d.got[0].Attributes[evs.AttrRequestID], "message attributes reach the core")

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
		testenv.Logger(t))(context.Background(), events.SQSEvent{})
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
