package dlq

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/testenv"
)

func TestStatsAndPeekTellMessagesTheRedrivePolicyMovedFromImportedOnes(t *testing.T) {
	t.Parallel()
	q := testenv.NewQueues(t, 1, 30*time.Second) // maxReceiveCount 1: the second receive moves it
	ctx := context.Background()
	put(t, q.Main, message.Message{Body: "given up on"})
	got, err := q.Main.Receive(ctx, 1, time.Second)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.NoError(t, q.Main.ChangeVisibility(ctx, []string{got[0].ReceiptHandle}, 0))
	testenv.Eventually(t, 10*time.Second, "the redrive policy moved it", func() bool {
		_, _ = q.Main.Receive(ctx, 1, 0)
		s, err := q.DLQ.Stats(ctx)
		return err == nil && s.Visible == 1
	})

	file := filepath.Join(t.TempDir(), "in.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"body":"from an archive"}`+"\n"), 0o644))
	_, err = runCLI(t, q, "import", "--file", file)
	require.NoError(t, err)
	put(t, q.DLQ, poison(1))

	out, err := runCLI(t, q, "stats", "--json")
	require.NoError(t, err)
	var rep StatsReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, 1, rep.MovedByRedrivePolicy)
	assert.Equal(t, map[string]int{ReasonRedrive: 1, message.ReasonImported: 1, events.ReasonUnknownVersion: 1}, rep.Reasons)
	human, err := runCLI(t, q, "stats")
	require.NoError(t, err)
	assert.Contains(t, human, "1 moved by the redrive policy (no reason recorded)")

	out, err = runCLI(t, q, "peek", "--json")
	require.NoError(t, err)
	var peekedMsgs []Peeked
	require.NoError(t, json.Unmarshal([]byte(out), &peekedMsgs))
	byBody := map[string]Peeked{}
	for _, p := range peekedMsgs {
		byBody[p.Body] = p
	}
	assert.True(t, byBody["given up on"].MovedByRedrivePolicy)
	assert.False(t, byBody["from an archive"].MovedByRedrivePolicy, "an imported message is not taken for a redrive")
	assert.Equal(t, message.ReasonImported, byBody["from an archive"].Reason)
	assert.Contains(t, byBody["from an archive"].Detail, "in.jsonl line 1")
}

func TestMarkImportedLeavesAMessageWithoutRoomAsItIs(t *testing.T) {
	full := message.Message{Body: "b", Attributes: map[string]message.Attribute{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		full.Attributes[k] = message.String(k)
	}
	got, ok := MarkImported(full, "detail")
	assert.False(t, ok)
	assert.Equal(t, full, got)

	nine := message.Message{Body: "b", Attributes: map[string]message.Attribute{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
		nine.Attributes[k] = message.String(k)
	}
	got, ok = MarkImported(nine, "detail")
	assert.True(t, ok)
	assert.Equal(t, message.ReasonImported, got.Text(message.AttrDLQReason), "the reason before the detail")
	assert.Len(t, got.Attributes, 10)
}
