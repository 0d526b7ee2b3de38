package dlqcli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/dlq/dlqtest"
)

// poison120KB is a legal message of about 120 KB that the worker can never
// store (an unknown version).
func poison120KB(i int) message.Message {
	return message.Message{
		Body:       fmt.Sprintf(`{"type":"number.submitted","version":2,"n":%d,"pad":"%s"}`, i, strings.Repeat("p", 120_000)),
		Attributes: map[string]message.Attribute{events.AttrRequestID: message.String(fmt.Sprint("big-", i))},
	}
}

func TestTenPoisonMessagesOf120KBAreDeadLetteredExportedImportedAndReplayed(t *testing.T) {
	t.Parallel()
	src, dst := dlqtest.Setup(t), dlqtest.Setup(t)
	store := testenv.Store(t)
	var msgs []message.Message
	for i := range 10 {
		msgs = append(msgs, poison120KB(i))
	}
	dlqtest.Put(t, src.Main, msgs...) // 1.2 MB: more than one SendMessageBatch

	done := dlqtest.Work(t, src, store)
	assert.Equal(t, 10, done.Poisoned, "all ten dead-lettered by the worker")
	dead := dlqtest.Contents(t, src.DLQ)
	require.Len(t, dead, 10)
	for _, m := range dead {
		assert.Equal(t, events.ReasonUnknownVersion, m.Text(message.AttrDLQReason), "with their reason")
	}
	assert.Equal(t, dlqtest.Bodies(msgs), dlqtest.Bodies(dead), "bodies intact")

	file := filepath.Join(t.TempDir(), "big.jsonl")
	out, err := runCLI(t, src, "export", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "exported 10 messages")
	out, err = runCLI(t, dst, "import", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "imported 10 of 10")
	imported := dlqtest.Contents(t, dst.DLQ)
	require.Len(t, imported, 10)
	for _, m := range imported {
		assert.Equal(t, events.ReasonUnknownVersion, m.Text(message.AttrDLQReason))
	}

	res, err := replay(t, dst), error(nil)
	require.NoError(t, err)
	assert.Equal(t, 10, res.Replayed)
	assert.Equal(t, 0, res.Problems())
	assert.Equal(t, dlqtest.Bodies(msgs), dlqtest.Bodies(dlqtest.Contents(t, dst.Main)), "replayed whole")
	assert.Empty(t, dlqtest.Contents(t, dst.DLQ))
}

// typed are attributes of every kind SQS keeps: String, Number, Binary and
// custom suffixes.
func typed() map[string]message.Attribute {
	return map[string]message.Attribute{
		"request_id": message.String("typed-1"),
		"amount":     {DataType: "Number", StringValue: "-12.50"},
		"count":      {DataType: "Number.int", StringValue: "7"},
		"doc":        {DataType: "String.json", StringValue: `{"a":[1,2]}`},
		"blob":       {DataType: "Binary", BinaryValue: []byte{0, 1, 2, 0xfe, 0xff}},
		"gz":         {DataType: "Binary.gzip", BinaryValue: []byte("\x1f\x8b")},
	}
}

func TestAttributeTypesSurviveDeadLetteringExportImportAndReplay(t *testing.T) {
	t.Parallel()
	src, dst := dlqtest.Setup(t), dlqtest.Setup(t)
	store := testenv.Store(t)
	in := message.Message{Body: "not an event", Attributes: typed()}
	dlqtest.Put(t, src.Main, in)

	// Dead-lettering keeps them, beside the reason.
	require.Equal(t, 1, dlqtest.Work(t, src, store).Poisoned)
	dead := dlqtest.Contents(t, src.DLQ)
	require.Len(t, dead, 1)
	for k, a := range typed() {
		assert.Equal(t, a, dead[0].Attributes[k], "dead-lettered: %s", k)
	}
	reason := dead[0].Attributes[message.AttrDLQReason]

	// Export writes the types; import restores them.
	file := filepath.Join(t.TempDir(), "typed.jsonl")
	_, err := runCLI(t, src, "export", "--file", file)
	require.NoError(t, err)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"count":{"type":"Number.int","value":"7"}`)
	assert.Contains(t, string(raw), `"blob":{"type":"Binary","binary":"AAEC/v8="}`)
	_, err = runCLI(t, dst, "import", "--file", file)
	require.NoError(t, err)
	imported := dlqtest.Contents(t, dst.DLQ)
	require.Len(t, imported, 1)
	assert.Equal(t, dead[0].Attributes, imported[0].Attributes, "import gives back every attribute as it was")
	assert.Equal(t, reason, imported[0].Attributes[message.AttrDLQReason])

	// Replay sends them back as they were, with the count.
	res, err := replay(t, dst), error(nil)
	require.NoError(t, err)
	require.Equal(t, 1, res.Replayed)
	back := dlqtest.Contents(t, dst.Main)
	require.Len(t, back, 1)
	for k, a := range typed() {
		assert.Equal(t, a, back[0].Attributes[k], "replayed: %s", k)
	}
	assert.Equal(t, "1", back[0].Text(message.AttrReplayCount))
}
