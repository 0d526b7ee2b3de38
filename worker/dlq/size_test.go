package dlq

import (
	"context"
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
	src, dst := setup(t), setup(t)
	store := testenv.Store(t)
	var msgs []message.Message
	for i := range 10 {
		msgs = append(msgs, poison120KB(i))
	}
	put(t, src.Main, msgs...) // 1.2 MB: more than one SendMessageBatch

	done := work(t, src, store)
	assert.Equal(t, 10, done.Poisoned, "all ten dead-lettered by the worker")
	dead := contents(t, src.DLQ)
	require.Len(t, dead, 10)
	for _, m := range dead {
		assert.Equal(t, events.ReasonUnknownVersion, m.Text(message.AttrDLQReason), "with their reason")
	}
	assert.Equal(t, messageBodies(msgs), bodies(dead), "bodies intact")

	file := filepath.Join(t.TempDir(), "big.jsonl")
	out, err := runCLI(t, src, "export", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "exported 10 messages")
	out, err = runCLI(t, dst, "import", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "imported 10 of 10")
	imported := contents(t, dst.DLQ)
	require.Len(t, imported, 10)
	for _, m := range imported {
		assert.Equal(t, events.ReasonUnknownVersion, m.Text(message.AttrDLQReason))
	}

	res, err := replayer(dst, ReplayConfig{}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 10, res.Replayed)
	assert.Equal(t, 0, res.Problems())
	assert.Equal(t, messageBodies(msgs), bodies(contents(t, dst.Main)), "replayed whole")
	assert.Empty(t, contents(t, dst.DLQ))
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

func TestImportRefusesALineSQSWouldRefuseNamingIt(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, want string }{
		{"a body past the size limit", fmt.Sprintf(`{"body":"%s"}`, strings.Repeat("x", message.MaxRequestBytes+1)), "bytes (body and attributes), SQS allows"},
		{"a control character", `{"body":"a\u0001b"}`, "character U+0001"},
		{"too many attributes", `{"body":"b","attributes":{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1","j":"1","k":"1"}}`, "11 attributes"},
		{"a reserved attribute name", `{"body":"b","attributes":{"AWS.trace":"1"}}`, "reserved"},
		{"an empty attribute value", `{"body":"b","attributes":{"a":""}}`, "empty value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadRecords(strings.NewReader(`{"body":"fine"}` + "\n" + tt.line + "\n"))
			require.Error(t, err)
			assert.ErrorContains(t, err, "line 2: ")
			assert.ErrorContains(t, err, tt.want)
		})
	}
	q := setup(t)
	file := filepath.Join(t.TempDir(), "big.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"body":"ok"}`+"\n"+tests[0].line+"\n"), 0o644))
	_, err := runCLI(t, q, "import", "--file", file)
	require.ErrorContains(t, err, "line 2")
	assert.Empty(t, contents(t, q.DLQ), "nothing is imported from a file with a bad line")
}
