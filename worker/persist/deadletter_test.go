package persist_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/sqsqueue/sqsfake"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/persist"
)

func TestDeadLetteringKeepsWithinTheAttributeLimit(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	p := &persist.Persister{Store: failingWriter{}, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	attrs := map[string]message.Attribute{message.AttrReplayCount: message.String("2"), "request_id": message.String("rq")}
	for i := 0; i < 8; i++ {
		attrs[fmt.Sprint("extra_", i)] = message.String("x")
	}
	res := p.Process(context.Background(), []message.Message{{ID: "m", Body: "junk", Attributes: attrs}})
	require.NoError(t, res.Err, "SQS accepts the dead letter")
	require.Equal(t, []int{0}, res.Done)
	dead := testenv.ReceiveAll(t, qs.DLQ, 1, qs.DLQWait())
	require.Len(t, dead, 1)
	assert.Len(t, dead[0].Attributes, 10)
	assert.Equal(t, "2", dead[0].Text(message.AttrReplayCount), "the replay count survives")
	assert.Equal(t, "rq", dead[0].Text("request_id"))
	assert.Equal(t, events.ReasonMalformed, dead[0].Text(message.AttrDLQReason))
}

func TestDeadLetteringCountsOnlyWhatTheDLQReportsTaken(t *testing.T) {
	t.Parallel()
	for _, fault := range []sqsfake.Fault{sqsfake.Unreported, sqsfake.ServerError, sqsfake.Throttled} {
		t.Run(fmt.Sprint("fault ", fault), func(t *testing.T) {
			t.Parallel()
			qs := testenv.NewQueues(t, 5, 30*time.Second)
			fake := &sqsfake.Client{API: qs.Client, Fault: fault, Pick: func(body string) bool { return body == "junk-lost" }}
			p := &persist.Persister{Store: testenv.Store(t), DLQ: sqsqueue.Queue{API: fake, URL: qs.DLQ.URL}, Log: testenv.Logger(t), Now: time.Now}
			res := p.Process(context.Background(), []message.Message{{ID: "a", Body: "junk-kept"}, {ID: "b", Body: "junk-lost"}})
			assert.Equal(t, []int{0}, res.Done, "the dead letter the DLQ reported taken")
			assert.Equal(t, []int{1}, res.Failed, "the one it did not report stays in the main queue")
			assert.Equal(t, 1, res.Poisoned)
			assert.ErrorIs(t, res.Err, persist.ErrDeadLetter, "reported as a dead-letter failure, not a database one")
			assert.ErrorIs(t, res.Err, number.ErrUnavailable)
			assert.EqualValues(t, 1, fake.Tampered.Load())
		})
	}
}

func TestAPoisonMessageNearTheSizeLimitIsDeadLetteredWholeWithItsReason(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	in := message.Message{Attributes: map[string]message.Attribute{
		"request_id": message.String("rq-big"), message.AttrReplayCount: message.String("1"),
		"note": {DataType: "String.note", StringValue: strings.Repeat("n", 300)},
	}}
	in.Body = "not json " + strings.Repeat("x", message.MaxRequestBytes-in.Size()-9) // exactly at the limit
	require.Equal(t, message.MaxRequestBytes, in.Size())
	failed, err := qs.Main.SendBatch(context.Background(), []message.Message{in})
	require.NoError(t, err, "SQS takes it as it is")
	require.Empty(t, failed)
	got := testenv.ReceiveAll(t, qs.Main, 1, qs.MainWait())
	require.Len(t, got, 1)

	p := &persist.Persister{Store: testenv.Store(t), DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	res := p.Process(context.Background(), got)
	require.NoError(t, res.Err, "the dead letter fits: the reason attributes did not push it past the limit")
	assert.Equal(t, 1, res.Poisoned)
	dead := testenv.ReceiveAll(t, qs.DLQ, 1, qs.DLQWait())
	require.Len(t, dead, 1)
	assert.Equal(t, in.Body, dead[0].Body, "the body is whole")
	assert.Equal(t, events.ReasonMalformed, dead[0].Text(message.AttrDLQReason))
	assert.Equal(t, "1", dead[0].Text(message.AttrReplayCount), "the replay count is kept before anything else")
	assert.LessOrEqual(t, dead[0].Size(), message.MaxRequestBytes)
}

func TestADeadLetterFailureSaysWhichMessagesOfTheBatch(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	fake := &sqsfake.Client{API: qs.Client, Fault: sqsfake.Unreported, Pick: func(body string) bool { return body == "junk-lost" }}
	p := &persist.Persister{Store: failingWriter{}, DLQ: sqsqueue.Queue{API: fake, URL: qs.DLQ.URL}, Log: testenv.Logger(t), Now: time.Now}
	res := p.Process(context.Background(), []message.Message{good(t, 1), {ID: "a", Body: "junk-kept"}, {ID: "b", Body: "junk-lost"}})
	var dl *persist.DeadLetterError
	require.ErrorAs(t, res.Err, &dl)
	assert.Equal(t, []int{2}, dl.Failed, "the poison message the DLQ did not take, apart from the one the database failed")
	assert.ElementsMatch(t, []int{0, 2}, res.Failed)
}
