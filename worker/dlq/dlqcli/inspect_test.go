package dlqcli

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
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/dlq/dlqtest"
)

func TestStatsCountsAndAgesTheOldestMessage(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	dlqtest.Put(t, q.DLQ, eventstest.Poison(1), eventstest.Poison(2), eventstest.Valid(t, 1))
	dlqtest.Put(t, q.Main, eventstest.Valid(t, 2))
	time.Sleep(1100 * time.Millisecond)
	out, err := runCLI(t, q, "stats", "--json")
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	for _, k := range []string{"visible", "in_flight", "oldest_age_seconds"} {
		assert.Contains(t, raw, k)
	}
	var rep StatsReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, 3, rep.Visible)
	assert.GreaterOrEqual(t, rep.OldestAgeSeconds, int64(1))
	assert.Less(t, rep.OldestAgeSeconds, int64(60))
	assert.Equal(t, 3, rep.Sampled)
	assert.True(t, rep.SampleComplete)
	assert.Equal(t, map[string]int{events.ReasonUnknownVersion: 2, ReasonRedrive: 1}, rep.Reasons)
	assert.Equal(t, 1, rep.MovedByRedrivePolicy)
	assert.Equal(t, 1, rep.Main.Visible)

	human, err := runCLI(t, q, "stats")
	require.NoError(t, err)
	assert.Contains(t, human, "visible          3")
	assert.Len(t, dlqtest.Contents(t, q.DLQ), 3, "stats consumed nothing")
}

func TestPeekShowsReasonAndReplayCountWithoutConsuming(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	capped := eventstest.Poison(1)
	capped.Attributes[message.AttrReplayCount] = message.String("3")
	dlqtest.Put(t, q.DLQ, capped)
	out, err := runCLI(t, q, "peek", "--json")
	require.NoError(t, err)
	var got []Peeked
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got, 1)
	assert.Equal(t, events.ReasonUnknownVersion, got[0].Reason)
	assert.Equal(t, 3, got[0].ReplayCount)
	assert.True(t, got[0].AtReplayCap)
	assert.Equal(t, capped.Body, got[0].Body)

	human, err := runCLI(t, q, "peek")
	require.NoError(t, err)
	assert.Contains(t, human, "replays 3/3  AT REPLAY CAP")
	assert.Contains(t, human, "unknown_version: version 2")
	assert.Len(t, dlqtest.Contents(t, q.DLQ), 1, "peek consumed nothing")
}

func TestStatsAndPeekTellMessagesTheRedrivePolicyMovedFromImportedOnes(t *testing.T) {
	t.Parallel()
	q := testenv.NewQueues(t, 1, 30*time.Second) // maxReceiveCount 1: the second receive moves it
	ctx := context.Background()
	dlqtest.Put(t, q.Main, message.Message{Body: "given up on"})
	// Receive and release it until a receive finds it moved. A receive
	// whose answer is lost counts too, and hides it for the visibility
	// timeout: so no fixed number of receives, and a wait past that.
	testenv.Eventually(t, q.MainWait(), "the redrive policy moved it", func() bool {
		got, err := q.Main.Receive(ctx, 1, time.Second)
		require.NoError(t, err)
		for _, m := range got {
			require.NoError(t, q.Main.ChangeVisibility(ctx, []string{m.ReceiptHandle}, 0))
		}
		s, err := q.DLQ.Stats(ctx)
		return err == nil && s.Visible == 1
	})

	file := filepath.Join(t.TempDir(), "in.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"body":"from an archive"}`+"\n"), 0o644))
	_, err := runCLI(t, q, "import", "--file", file)
	require.NoError(t, err)
	dlqtest.Put(t, q.DLQ, eventstest.Poison(1))

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

func TestPeekSaysTheFailureTimeIsUnknownWhenNoneWasRecorded(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	file := filepath.Join(t.TempDir(), "in.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"body":"from an archive"}`+"\n"), 0o644))
	_, err := runCLI(t, q, "import", "--file", file)
	require.NoError(t, err)
	dlqtest.Put(t, q.DLQ, message.Message{Body: "reason only", Attributes: map[string]message.Attribute{
		message.AttrDLQReason: message.String(events.ReasonUnknownVersion),
	}})
	recorded := eventstest.Poison(1)
	recorded.Attributes[message.AttrDLQFailedAt] = message.String("2026-11-30T10:00:00Z")
	dlqtest.Put(t, q.DLQ, recorded)

	human, err := runCLI(t, q, "peek")
	require.NoError(t, err)
	assert.Contains(t, human, "  reason      imported: imported from in.jsonl line 1 without a reason (failure time unknown)\n")
	assert.Contains(t, human, "  reason      unknown_version (failure time unknown)\n")
	assert.Regexp(t, `reason      unknown_version: .* \(failed at 2026-11-30T10:00:00Z\)\n`, human)
	assert.NotContains(t, human, "failed at )")
	assert.NotContains(t, human, ":  (")
}
