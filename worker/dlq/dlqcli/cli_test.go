package dlqcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/dlq"
	"github.com/numbers-app/numbers/worker/dlq/dlqtest"
)

// runCLI runs `worker dlq ARGS` against the test queues, as an operator would.
func runCLI(t *testing.T, q testenv.Queues, args ...string) (string, error) {
	t.Helper()
	cfg := testenv.Common(t, "", q)
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, cfg, func(string) string { return "" }, &out, &errOut)
	return out.String(), err
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

// replay runs the engine's replayer over q, as `worker dlq replay` does.
func replay(t *testing.T, q testenv.Queues) dlq.ReplayResult {
	t.Helper()
	r := &dlq.Replayer{DLQ: q.DLQ, Main: q.Main, Config: dlq.ReplayConfig{Wait: time.Second}, Out: io.Discard}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	return res
}

func TestDryRunListsWhatWouldMoveAndMovesNothing(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	dlqtest.Put(t, q.DLQ, eventstest.Poison(1), eventstest.Valid(t, 1), eventstest.Valid(t, 2))
	out, err := runCLI(t, q, "replay", "--dry-run")
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(out, "would replay"), out)
	assert.Contains(t, out, "dry run: 3 would be replayed, nothing moved")

	stats, err := runCLI(t, q, "stats", "--json")
	require.NoError(t, err)
	var rep StatsReport
	require.NoError(t, json.Unmarshal([]byte(stats), &rep))
	assert.Equal(t, 3, rep.Visible, "the DLQ is unchanged and visible at once")
	assert.Equal(t, 0, rep.InFlight)
	require.NotNil(t, rep.Main)
	assert.Equal(t, 0, rep.Main.Visible)
}

func TestPurgeRefusesWithoutYes(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	dlqtest.Put(t, q.DLQ, eventstest.Poison(1), eventstest.Poison(2))
	_, err := runCLI(t, q, "purge")
	require.ErrorContains(t, err, "--yes")
	assert.Len(t, dlqtest.Contents(t, q.DLQ), 2)

	out, err := runCLI(t, q, "purge", "--yes")
	require.NoError(t, err)
	assert.Contains(t, out, "2 messages deleted")
	assert.Empty(t, dlqtest.Contents(t, q.DLQ))
}

func TestCLIReplayExitsNonZeroWhenSomethingFailed(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	full := message.Message{Body: "b", Attributes: map[string]message.Attribute{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		full.Attributes[k] = message.String(k) // no room for replay_count
	}
	dlqtest.Put(t, q.DLQ, full, eventstest.Valid(t, 1))
	out, err := runCLI(t, q, "replay", "--no-progress")
	require.ErrorContains(t, err, "1 messages failed")
	assert.Contains(t, out, "replay: 1 replayed, 1 failed")
	assert.Len(t, dlqtest.Contents(t, q.DLQ), 1)
}

func TestNativeMoveIsRefusedOnTheLocalSQS(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	_, err := runCLI(t, q, "replay", "--native")
	require.ErrorContains(t, err, "needs real AWS")
	_, err = runCLI(t, q, "move-tasks")
	require.ErrorContains(t, err, "needs real AWS")
}

func TestTargetResolution(t *testing.T) {
	dir := t.TempDir()
	stackFile := filepath.Join(dir, "stack.env")
	require.NoError(t, os.WriteFile(stackFile, []byte("DATABASE_URL=postgres://x\nSQS_ENDPOINT=http://127.0.0.1:1\n"+
		"SQS_QUEUE_URL=http://q/main\nSQS_DLQ_URL=http://q/dlq\nAWS_REGION=us-east-1\n"), 0o644))
	noEnv := func(string) string { return "" }
	stateDir := func(k string) string {
		if k == "LOCAL_STATE_DIR" {
			return dir
		}
		return ""
	}

	t.Run("the environment wins over the stack file", func(t *testing.T) {
		got, err := resolveTarget(config.Common{DLQURL: "https://sqs/dlq", QueueURL: "https://sqs/main", AWSRegion: "eu-west-1"}, targetFlags{}, stateDir)
		require.NoError(t, err)
		assert.Equal(t, Target{DLQURL: "https://sqs/dlq", QueueURL: "https://sqs/main", Region: "eu-west-1", From: "environment"}, got)
		assert.False(t, got.Local())
	})
	t.Run("the stack file in LOCAL_STATE_DIR fills an empty environment", func(t *testing.T) {
		got, err := resolveTarget(config.Common{AWSRegion: "us-east-1"}, targetFlags{}, stateDir)
		require.NoError(t, err)
		assert.Equal(t, Target{DLQURL: "http://q/dlq", QueueURL: "http://q/main", Endpoint: "http://127.0.0.1:1", Region: "us-east-1", From: stackFile}, got)
		assert.True(t, got.Local())
	})
	t.Run("--stack-env names the file", func(t *testing.T) {
		got, err := resolveTarget(config.Common{}, targetFlags{StackEnv: stackFile}, noEnv)
		require.NoError(t, err)
		assert.Equal(t, "http://q/dlq", got.DLQURL)
	})
	t.Run("flags override everything", func(t *testing.T) {
		got, err := resolveTarget(config.Common{DLQURL: "https://sqs/dlq"}, targetFlags{DLQURL: "http://f/dlq", QueueURL: "http://f/main", Endpoint: "http://e"}, noEnv)
		require.NoError(t, err)
		assert.Equal(t, Target{DLQURL: "http://f/dlq", QueueURL: "http://f/main", Endpoint: "http://e", From: "flags"}, got)
	})
	t.Run("a missing named file is an error", func(t *testing.T) {
		_, err := resolveTarget(config.Common{}, targetFlags{StackEnv: filepath.Join(dir, "nope.env")}, noEnv)
		assert.Error(t, err)
	})
	t.Run("nothing configured says how to start the stack", func(t *testing.T) {
		t.Chdir(t.TempDir()) // no .local/stack.env here
		_, err := resolveTarget(config.Common{}, targetFlags{}, noEnv)
		require.True(t, errors.Is(err, errNoQueue))
		assert.True(t, strings.Contains(err.Error(), "make run") && strings.Contains(err.Error(), "SQS_DLQ_URL"), err.Error())
	})
}

// slowReceive makes each receive take at least delay.
type slowReceive struct {
	sqsqueue.API
	delay time.Duration
}

func (s slowReceive) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	time.Sleep(s.delay)
	return s.API.ReceiveMessage(ctx, in, optFns...)
}

func TestReplayProgressRateCountsFromTheStartAndTheSummaryStartsItsOwnLine(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	dlqtest.PutValid(t, q.DLQ, 10)
	var term bytes.Buffer // stdout and stderr on one terminal
	err := run(context.Background(), []string{"replay"}, &term, &term, func(context.Context, targetFlags) (*app, error) {
		api := slowReceive{API: q.Client, delay: 500 * time.Millisecond}
		return &app{
			target: Target{DLQURL: q.DLQ.URL, QueueURL: q.Main.URL, Endpoint: testenv.SQSEndpoint(t), From: "flags"},
			dlq:    sqsqueue.Queue{API: api, URL: q.DLQ.URL},
			main:   sqsqueue.Queue{API: q.Client, URL: q.Main.URL},
		}, nil
	})
	require.NoError(t, err)
	out := term.String()

	// No message can move before the first receive answers: 10 messages
	// take at least 0.5s, at most 20 msg/s, however busy the machine.
	rates := regexp.MustCompile(`\(\d+/\d+, (\d+) msg/(s|min|hr)\)`).FindAllStringSubmatch(out, -1)
	require.NotEmpty(t, rates, "the bar shows a rate: %q", out)
	for _, m := range rates {
		perSec, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		perSec /= map[string]float64{"s": 1, "min": 60, "hr": 3600}[m[2]]
		assert.LessOrEqual(t, perSec, 20.0, "bar figure %q in %q", m[0], out)
	}

	at := strings.Index(out, "replay: 10 replayed")
	require.Positive(t, at, out)
	assert.Equal(t, "\n", out[at-1:at], "the summary starts a line of its own: %q", out)
	assert.NotContains(t, out[at:], "\r", "nothing of the bar is drawn after the summary: %q", out)
}
