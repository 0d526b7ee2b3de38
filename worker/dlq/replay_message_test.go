package dlq

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
)

func TestReplayMessageKeepsBodyAndAttributesAndCountsTheReplay(t *testing.T) {
	m := message.Message{ID: "m", Body: "b", Attributes: map[string]message.Attribute{
		"request_id": message.String("r"), "dlq_reason": message.String("malformed"), message.AttrReplayCount: message.String("1"),
	}}
	got, err := replayMessage(m, 2)
	require.NoError(t, err)
	assert.Equal(t, "b", got.Body)
	assert.Equal(t, map[string]message.Attribute{
		"request_id": message.String("r"), "dlq_reason": message.String("malformed"), message.AttrReplayCount: message.String("2"),
	}, got.Attributes)
	assert.Equal(t, "1", m.Text(message.AttrReplayCount), "the received message is not changed")
}

func TestReplayMessageStaysWithinTenAttributes(t *testing.T) {
	attrs := map[string]message.Attribute{"dlq_reason": message.String("x"), "dlq_detail": message.String("d"),
		"dlq_failed_at": message.String("t"), "dlq_source_message_id": message.String("s")}
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		attrs[k] = message.String(k)
	}
	got, err := replayMessage(message.Message{Body: "b", Attributes: attrs}, 1)
	require.NoError(t, err)
	assert.Len(t, got.Attributes, 10)
	assert.NotContains(t, got.Attributes, "dlq_detail", "the least useful attribute goes first")
	assert.Equal(t, "x", got.Text("dlq_reason"))

	full := map[string]message.Attribute{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		full[k] = message.String(k)
	}
	_, err = replayMessage(message.Message{Body: "b", Attributes: full}, 1)
	assert.Error(t, err, "ten attributes of its own leave no room for replay_count")
}

func TestReplayOfAMessageNearTheSizeLimitDropsStaleDetailToFitTheCount(t *testing.T) {
	attrs := map[string]message.Attribute{
		message.AttrDLQReason: message.String("malformed"), message.AttrDLQDetail: message.String(strings.Repeat("d", 200)),
	}
	m := message.Message{Body: "b", Attributes: attrs}
	m.Body = strings.Repeat("b", message.MaxRequestBytes-m.Size()+1)
	got, err := replayMessage(m, 1)
	require.NoError(t, err)
	assert.LessOrEqual(t, got.Size(), message.MaxRequestBytes)
	assert.Equal(t, m.Body, got.Body, "the body is never cut")
	assert.Equal(t, "1", got.Text(message.AttrReplayCount))
	assert.NotContains(t, got.Attributes, message.AttrDLQDetail)

	full := message.Message{Body: strings.Repeat("b", message.MaxRequestBytes-5)}
	_, err = replayMessage(full, 1)
	assert.ErrorContains(t, err, "bytes with replay_count")
}

// A replay's wait is one SQS can be asked for: whole seconds from 1 to 20
// (the SDK sends no wait of 0). Refused before anything is scanned, not
// after "replaying" has been printed.
func TestAReplayWaitSQSCannotBeAskedForIsRefusedUpFront(t *testing.T) {
	for _, wait := range []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond, 21 * time.Second, -time.Second} {
		err := ReplayConfig{MaxReplays: 1, Wait: wait}.Validate()
		assert.ErrorIs(t, err, sqsqueue.ErrWait, "wait %v", wait)
	}
	for _, wait := range []time.Duration{0, time.Second, 20 * time.Second} {
		assert.NoError(t, ReplayConfig{MaxReplays: 1, Wait: wait}.Validate(), "wait %v", wait)
	}
}
