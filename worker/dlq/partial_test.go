package dlq

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/sqsqueue/sqsfake"
	"github.com/numbers-app/numbers/shared/testenv"
)

func TestReplayCountsAnEntryTheMainQueueDidNotReportAsFailedAndKeepsIt(t *testing.T) {
	t.Parallel()
	for _, fault := range []sqsfake.Fault{sqsfake.Unreported, sqsfake.ServerError} {
		q := setup(t)
		lost := message.Message{Body: "lost-in-the-answer"}
		put(t, q.DLQ, valid(t, 1), lost, valid(t, 2))
		fake := &sqsfake.Client{API: q.Client, Fault: fault, Pick: func(body string) bool { return body == lost.Body }}
		r := replayer(q, ReplayConfig{})
		r.Main = sqsqueue.Queue{API: fake, URL: q.Main.URL}
		var out bytes.Buffer
		r.Out = &out
		res, err := r.Run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 2, res.Replayed, "fault %d", fault)
		assert.Equal(t, 1, res.Failed, "fault %d", fault)
		assert.Contains(t, out.String(), "failed to send")
		assert.Equal(t, []string{lost.Body}, bodies(contents(t, q.DLQ)), "not deleted from the DLQ: it was not reported sent")
	}
}

// runWith runs `worker dlq ARGS` with the DLQ's client replaced.
func runWith(t *testing.T, q testenv.Queues, api sqsqueue.API, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut, func(context.Context, targetFlags) (*app, error) {
		return &app{
			target: Target{DLQURL: q.DLQ.URL, QueueURL: q.Main.URL, Endpoint: testenv.SQSEndpoint(t), From: "flags"},
			dlq:    sqsqueue.Queue{API: api, URL: q.DLQ.URL},
			main:   sqsqueue.Queue{API: api, URL: q.Main.URL},
			moves:  q.Client,
		}, nil
	})
	return out.String(), errOut.String(), err
}

func TestImportReportsTheLinesTheQueueDidNotReportTaken(t *testing.T) {
	t.Parallel()
	q := setup(t)
	file := filepath.Join(t.TempDir(), "in.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"body":"one"}`+"\n"+`{"body":"two-lost"}`+"\n"+`{"body":"three"}`+"\n"), 0o644))
	fake := &sqsfake.Client{API: q.Client, Fault: sqsfake.Unreported, Pick: func(body string) bool { return strings.HasSuffix(body, "-lost") }}
	out, errOut, err := runWith(t, q, fake, "import", "--file", file)
	require.ErrorContains(t, err, "1 not imported (lines [2]")
	assert.Contains(t, out, "imported 2 of 3")
	assert.Contains(t, errOut, "line 2 not imported")
	assert.Contains(t, errOut, "did not report")
}
