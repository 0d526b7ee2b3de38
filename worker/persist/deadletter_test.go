package persist_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
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
	res := p.Process(context.Background(), []persist.Message{{ID: "m", Body: "junk", Attributes: attrs}})
	require.NoError(t, res.Err, "SQS accepts the dead letter")
	require.Equal(t, []int{0}, res.Done)
	dead, err := qs.DLQ.Receive(context.Background(), 10, time.Second)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Len(t, dead[0].Attributes, 10)
	assert.Equal(t, "2", dead[0].Text(message.AttrReplayCount), "the replay count survives")
	assert.Equal(t, "rq", dead[0].Text("request_id"))
	assert.Equal(t, events.ReasonMalformed, dead[0].Text(message.AttrDLQReason))
}
