package dlq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/persist"
)

// setup is a fresh main queue and DLQ on the local SQS server.
func setup(t *testing.T) testenv.Queues {
	t.Helper()
	return testenv.NewQueues(t, 5, 30*time.Second)
}

// valid is a valid event as the proxy sends it, dead-lettered (as if a
// transient failure had exhausted maxReceiveCount: no dlq_* attributes).
func valid(t *testing.T, value int64) events.Message {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	m, err := events.Encode(number.Submission{ID: id.String(), Value: value, AcceptedAt: time.Now().UTC(), RequestID: fmt.Sprintf("req-%d", value)})
	require.NoError(t, err)
	return m
}

// poison is an event the worker can never store, as the worker dead-letters it.
func poison(i int) events.Message {
	return events.Message{
		Body: fmt.Sprintf(`{"type":"number.submitted","version":2,"id":"%s","value":%d}`, uuid.NewString(), i),
		Attributes: map[string]string{
			events.AttrRequestID: fmt.Sprintf("poison-%d", i), events.AttrEventType: events.TypeNumberSubmitted, events.AttrEventVersion: "2",
			persist.AttrDLQReason: events.ReasonUnknownVersion, persist.AttrDLQDetail: "version 2 (this consumer reads 1)",
			persist.AttrDLQFailedAt: time.Now().UTC().Format(time.RFC3339Nano), persist.AttrDLQMessageID: "m-" + fmt.Sprint(i),
		},
	}
}

func put(t *testing.T, q Queue, msgs ...events.Message) {
	t.Helper()
	failed, err := q.SendBatch(context.Background(), msgs)
	require.NoError(t, err)
	require.Empty(t, failed)
}

// contents reads every message of a queue and makes them visible again.
func contents(t *testing.T, q Queue) []sqsqueue.Received {
	t.Helper()
	sc := newScanner(q, 200*time.Millisecond, time.Minute)
	msgs, err := sc.scanAll(context.Background(), 0)
	require.NoError(t, err)
	require.NoError(t, sc.release(context.Background()))
	return msgs
}

func bodies(msgs []sqsqueue.Received) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	sort.Strings(out)
	return out
}

func messageBodies(msgs []events.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	sort.Strings(out)
	return out
}

func replayer(q testenv.Queues, cfg ReplayConfig) *Replayer {
	if cfg.Wait == 0 {
		cfg.Wait = 200 * time.Millisecond
	}
	return &Replayer{DLQ: q.DLQ, Main: q.Main, Config: cfg, Out: io.Discard}
}

// work runs the worker's persist core over everything in the main queue,
// as the ECS worker does, and deletes what it is done with.
func work(t *testing.T, q testenv.Queues, store number.Writer) persist.Result {
	t.Helper()
	p := &persist.Persister{Store: store, DLQ: q.DLQ, Log: testenv.Logger(t), Now: time.Now}
	var total persist.Result
	for {
		got, err := q.Main.Receive(context.Background(), 10, 200*time.Millisecond)
		require.NoError(t, err)
		if len(got) == 0 {
			return total
		}
		msgs := make([]message.Message, len(got))
		for i, r := range got {
			attrs := make(map[string]message.Attribute, len(r.Attributes))
			for k, v := range r.Attributes {
				attrs[k] = message.String(v)
			}
			msgs[i] = message.Message{ID: r.MessageID, Body: r.Body, Attributes: attrs}
		}
		res := p.Process(context.Background(), msgs)
		require.NoError(t, res.Err)
		handles := make([]string, len(res.Done))
		for i, d := range res.Done {
			handles[i] = got[d].ReceiptHandle
		}
		_, err = q.Main.Delete(context.Background(), handles)
		require.NoError(t, err)
		total.Stored += res.Stored
		total.Duplicates += res.Duplicates
		total.Poisoned += res.Poisoned
	}
}

// crashAfterSend fails the replay between the send and the delete.
func crashAfterSend(context.Context, []sqsqueue.Received) error { return errors.New("injected crash") }

func TestReplayThatStopsBetweenSendAndDeleteLeavesADuplicateNotALoss(t *testing.T) {
	t.Parallel()
	q := setup(t)
	store := testenv.Store(t)
	msgs := []events.Message{valid(t, 1), valid(t, 2), valid(t, 3)}
	put(t, q.DLQ, msgs...)

	r := replayer(q, ReplayConfig{})
	r.afterSend = crashAfterSend
	res, err := r.Run(context.Background())
	require.ErrorContains(t, err, "injected crash")
	assert.Equal(t, 0, res.Replayed)
	assert.Equal(t, 3, res.NotDeleted)

	inDLQ, inMain := contents(t, q.DLQ), contents(t, q.Main)
	assert.Equal(t, messageBodies(msgs), bodies(inDLQ), "nothing was deleted from the DLQ")
	assert.Equal(t, messageBodies(msgs), bodies(inMain), "everything was sent to the main queue")
	for _, m := range inMain {
		assert.Equal(t, "1", m.Attributes[AttrReplayCount])
		assert.Equal(t, m.Attributes[events.AttrRequestID] != "", true, "attributes are kept")
	}

	// Replaying again sends the same events a second time: the worker
	// stores each once.
	res, err = replayer(q, ReplayConfig{}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, res.Replayed)
	assert.Empty(t, contents(t, q.DLQ))
	done := work(t, q, store)
	assert.Equal(t, 3, done.Stored)
	assert.Equal(t, 3, done.Duplicates)
}

// TestHelperProcessCrashesBetweenSendAndDelete is not a test: the crash
// test below runs it in a child process that dies (os.Exit) after the send.
func TestHelperProcessCrashesBetweenSendAndDelete(t *testing.T) {
	if os.Getenv("DLQ_CRASH_HELPER") != "1" {
		t.Skip("helper process for TestReplayProcessKilledBetweenSendAndDeleteLosesNothing")
	}
	c := testenv.SQSClient(t)
	r := &Replayer{
		DLQ: sqsqueue.Queue{API: c, URL: os.Getenv("DLQ_CRASH_DLQ")}, Main: sqsqueue.Queue{API: c, URL: os.Getenv("DLQ_CRASH_MAIN")},
		Config: ReplayConfig{Wait: 200 * time.Millisecond, Hold: 2 * time.Second}, Out: io.Discard,
	}
	r.afterSend = func(context.Context, []sqsqueue.Received) error {
		os.Exit(3) // no deferred release, no delete: a crash
		return nil
	}
	_, _ = r.Run(context.Background())
	os.Exit(4) // the hook did not run
}

func TestReplayProcessKilledBetweenSendAndDeleteLosesNothing(t *testing.T) {
	t.Parallel()
	q := setup(t)
	var msgs []events.Message
	for i := range 15 {
		msgs = append(msgs, valid(t, int64(i)))
	}
	put(t, q.DLQ, msgs...)

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessCrashesBetweenSendAndDelete$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DLQ_CRASH_HELPER=1", "DLQ_CRASH_DLQ="+q.DLQ.URL, "DLQ_CRASH_MAIN="+q.Main.URL)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "child: %v\n%s", err, out)
	require.Equal(t, 3, exit.ExitCode(), "the child died between send and delete\n%s", out)

	inMain := contents(t, q.Main)
	// The child crashed right after its first send: one receive batch (up to
	// ten; SQS may hand out fewer) is in the main queue.
	assert.NotEmpty(t, inMain, "the first batch reached the main queue before the crash")
	assert.LessOrEqual(t, len(inMain), 10)
	// The crashed process held the messages it had read; they reappear
	// once their hold ends, all fifteen, none lost.
	var inDLQ []sqsqueue.Received
	testenv.Eventually(t, 10*time.Second, "every message back in the DLQ", func() bool {
		inDLQ = contents(t, q.DLQ)
		return len(inDLQ) == 15
	})
	assert.Equal(t, messageBodies(msgs), bodies(inDLQ))
}

func TestCtrlCAfterASendStillDeletesThatBatchAndStops(t *testing.T) {
	t.Parallel()
	q := setup(t)
	var msgs []events.Message
	for i := range 25 {
		msgs = append(msgs, valid(t, int64(i)))
	}
	put(t, q.DLQ, msgs...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := replayer(q, ReplayConfig{})
	r.afterSend = func(context.Context, []sqsqueue.Received) error {
		cancel() // Ctrl-C arrives right after the first send
		return nil
	}
	res, err := r.Run(ctx)
	require.NoError(t, err)
	assert.True(t, res.Interrupted)
	assert.Equal(t, 10, res.Replayed)

	inDLQ, inMain := contents(t, q.DLQ), contents(t, q.Main)
	assert.Len(t, inMain, 10)
	assert.Len(t, inDLQ, 15, "the rest is visible in the DLQ again at once")
	assert.ElementsMatch(t, messageBodies(msgs), append(bodies(inDLQ), bodies(inMain)...), "each message is in exactly one queue")
}

// failingDeletes is a DLQ whose deletes all fail.
type failingDeletes struct{ Queue }

func (f failingDeletes) Delete(_ context.Context, handles []string) ([]string, error) {
	return handles, errors.New("injected delete failure")
}

func TestReplayWhoseDeletesFailReportsThemAndLosesNothing(t *testing.T) {
	t.Parallel()
	q := setup(t)
	msgs := []events.Message{valid(t, 1), valid(t, 2)}
	put(t, q.DLQ, msgs...)

	r := replayer(q, ReplayConfig{})
	r.DLQ = failingDeletes{q.DLQ}
	var out bytes.Buffer
	r.Out = &out
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, res.NotDeleted)
	assert.Equal(t, 2, res.Problems(), "the command exits non-zero on problems")
	assert.Contains(t, out.String(), "sent but not deleted")
	assert.Len(t, contents(t, q.DLQ), 2)
	assert.Len(t, contents(t, q.Main), 2)
}

func TestReplayedPoisonComesBackWithItsReasonAndStopsAtTheCap(t *testing.T) {
	t.Parallel()
	q := setup(t)
	store := testenv.Store(t)
	bad := poison(1)
	good := valid(t, 42)
	put(t, q.DLQ, bad, good)

	for round := 1; round <= DefaultMaxReplays; round++ {
		res, err := replayer(q, ReplayConfig{}).Run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 0, res.SkippedCap, "round %d", round)
		done := work(t, q, store)
		assert.Equal(t, 1, done.Poisoned, "round %d: the worker dead-letters it again", round)
		inDLQ := contents(t, q.DLQ)
		require.Len(t, inDLQ, 1, "round %d", round)
		back := inDLQ[0]
		assert.Equal(t, bad.Body, back.Body)
		assert.Equal(t, fmt.Sprint(round), back.Attributes[AttrReplayCount], "the worker keeps the count")
		assert.Equal(t, events.ReasonUnknownVersion, back.Attributes[persist.AttrDLQReason], "with a fresh reason")
		assert.LessOrEqual(t, len(back.Attributes), maxAttributes)
	}
	n, err := storedCount(t, store)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the valid event is stored once")

	var out bytes.Buffer
	r := replayer(q, ReplayConfig{})
	r.Out = &out
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, res.SkippedCap)
	assert.Equal(t, 0, res.Replayed)
	assert.Contains(t, out.String(), "replay cap 3 reached")
	assert.Len(t, contents(t, q.DLQ), 1, "it stays in the DLQ")
	assert.Empty(t, contents(t, q.Main))
}

func storedCount(t *testing.T, store number.Writer) (int, error) {
	t.Helper()
	c, ok := store.(interface {
		Count(context.Context) (int, error)
	})
	require.True(t, ok)
	return c.Count(context.Background())
}

func TestPoisonTheWorkerSendsBackDuringTheRunIsNotReplayedTwice(t *testing.T) {
	t.Parallel()
	q := setup(t)
	put(t, q.DLQ, poison(1), poison(2))
	r := replayer(q, ReplayConfig{})
	// The worker is fast: the replayed messages are back in the DLQ (same
	// body, the count we set) before the replay looks again.
	r.afterSend = func(ctx context.Context, sent []sqsqueue.Received) error {
		back := make([]events.Message, len(sent))
		for i, m := range sent {
			msg, err := replayMessage(m, 1)
			require.NoError(t, err)
			back[i] = msg
		}
		put(t, q.DLQ, back...)
		return nil
	}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, res.Replayed)
	assert.Equal(t, 2, res.Returned)
	assert.Len(t, contents(t, q.Main), 2, "each was sent once")
	assert.Len(t, contents(t, q.DLQ), 2)
}

func TestReplayMovesOnlyWhatTheFilterSelectsAndAtMostMax(t *testing.T) {
	t.Parallel()
	q := setup(t)
	put(t, q.DLQ, poison(1), poison(2), valid(t, 1), valid(t, 2), valid(t, 3))
	f, err := ParseFilter("reason=unknown_version")
	require.NoError(t, err)
	res, err := replayer(q, ReplayConfig{Filter: f}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, res.Replayed)
	assert.Equal(t, 3, res.SkippedFilter)
	for _, m := range contents(t, q.Main) {
		assert.Equal(t, events.ReasonUnknownVersion, m.Attributes[persist.AttrDLQReason])
	}
	assert.Len(t, contents(t, q.DLQ), 3)

	res, err = replayer(q, ReplayConfig{Max: 2}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, res.Replayed)
	assert.Len(t, contents(t, q.DLQ), 1)
}

func TestRateLimitPacesTheSends(t *testing.T) {
	t.Parallel()
	q := setup(t)
	var msgs []events.Message
	for i := range 6 {
		msgs = append(msgs, valid(t, int64(i)))
	}
	put(t, q.DLQ, msgs...)
	r := replayer(q, ReplayConfig{Rate: 2})
	clock := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	r.Now = func() time.Time { return clock }
	var waits []time.Duration
	r.Sleep = func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		clock = clock.Add(d)
		return nil
	}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 6, res.Replayed)
	assert.Equal(t, []time.Duration{0, time.Second, time.Second}, waits, "batches of 2 at 2 msg/s: one per second")
}

// runCLI runs `worker dlq ARGS` against the test queues, as an operator would.
func runCLI(t *testing.T, q testenv.Queues, args ...string) (string, error) {
	t.Helper()
	cfg := config.Common{DLQURL: q.DLQ.URL, QueueURL: q.Main.URL, SQSEndpoint: testenv.SQSEndpoint(t), AWSRegion: "us-east-1"}
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, cfg, func(string) string { return "" }, &out, &errOut)
	return out.String(), err
}

func TestDryRunListsWhatWouldMoveAndMovesNothing(t *testing.T) {
	t.Parallel()
	q := setup(t)
	put(t, q.DLQ, poison(1), valid(t, 1), valid(t, 2))
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

func TestStatsCountsAndAgesTheOldestMessage(t *testing.T) {
	t.Parallel()
	q := setup(t)
	put(t, q.DLQ, poison(1), poison(2), valid(t, 1))
	put(t, q.Main, valid(t, 2))
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
	assert.Equal(t, map[string]int{events.ReasonUnknownVersion: 2, "(none: moved by the redrive policy)": 1}, rep.Reasons)
	assert.Equal(t, 1, rep.Main.Visible)

	human, err := runCLI(t, q, "stats")
	require.NoError(t, err)
	assert.Contains(t, human, "visible          3")
	assert.Len(t, contents(t, q.DLQ), 3, "stats consumed nothing")
}

func TestPeekShowsReasonAndReplayCountWithoutConsuming(t *testing.T) {
	t.Parallel()
	q := setup(t)
	capped := poison(1)
	capped.Attributes[AttrReplayCount] = "3"
	put(t, q.DLQ, capped)
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
	assert.Len(t, contents(t, q.DLQ), 1, "peek consumed nothing")
}

func TestExportThenImportRestoresBodiesAndAttributes(t *testing.T) {
	t.Parallel()
	src, dst := setup(t), setup(t)
	weird := events.Message{Body: "not json at all: <&> \"quoted\" ünïcode\ttab", Attributes: map[string]string{"request_id": "r-1"}}
	msgs := []events.Message{poison(1), valid(t, 7), weird}
	put(t, src.DLQ, msgs...)

	file := filepath.Join(t.TempDir(), "dlq.jsonl")
	out, err := runCLI(t, src, "export", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "exported 3 messages")
	assert.Len(t, contents(t, src.DLQ), 3, "export consumed nothing")

	f, err := os.Open(file)
	require.NoError(t, err)
	recs, err := ReadRecords(f)
	f.Close()
	require.NoError(t, err)
	require.Len(t, recs, 3)

	out, err = runCLI(t, dst, "import", "--file", file)
	require.NoError(t, err)
	assert.Contains(t, out, "imported 3 of 3")
	want := map[string]map[string]string{}
	for _, m := range msgs {
		want[m.Body] = m.Attributes
	}
	got := map[string]map[string]string{}
	for _, m := range contents(t, dst.DLQ) {
		got[m.Body] = m.Attributes
	}
	assert.Equal(t, want, got)
}

func TestImportChecksEveryLineBeforeSendingAny(t *testing.T) {
	t.Parallel()
	q := setup(t)
	file := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(`{"body":"ok","attributes":{"a":"b"}}`+"\n"+`{"attributes":{}}`+"\n"), 0o644))
	_, err := runCLI(t, q, "import", "--file", file)
	require.ErrorContains(t, err, "line 2")
	assert.Empty(t, contents(t, q.DLQ))
}

func TestPurgeRefusesWithoutYes(t *testing.T) {
	t.Parallel()
	q := setup(t)
	put(t, q.DLQ, poison(1), poison(2))
	_, err := runCLI(t, q, "purge")
	require.ErrorContains(t, err, "--yes")
	assert.Len(t, contents(t, q.DLQ), 2)

	out, err := runCLI(t, q, "purge", "--yes")
	require.NoError(t, err)
	assert.Contains(t, out, "2 messages deleted")
	assert.Empty(t, contents(t, q.DLQ))
}

func TestCLIReplayExitsNonZeroWhenSomethingFailed(t *testing.T) {
	t.Parallel()
	q := setup(t)
	full := events.Message{Body: "b", Attributes: map[string]string{}}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		full.Attributes[k] = k // no room for replay_count
	}
	put(t, q.DLQ, full, valid(t, 1))
	out, err := runCLI(t, q, "replay", "--no-progress")
	require.ErrorContains(t, err, "1 messages failed")
	assert.Contains(t, out, "replay: 1 replayed, 1 failed")
	assert.Len(t, contents(t, q.DLQ), 1)
}

func TestNativeMoveIsRefusedOnTheLocalSQS(t *testing.T) {
	t.Parallel()
	q := setup(t)
	_, err := runCLI(t, q, "replay", "--native")
	require.ErrorContains(t, err, "needs real AWS")
	_, err = runCLI(t, q, "move-tasks")
	require.ErrorContains(t, err, "needs real AWS")
}
