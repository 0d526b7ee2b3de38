package dlq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/sqsqueue/sqsfake"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/dlq/dlqtest"
)

func replayer(q testenv.Queues, cfg ReplayConfig) *Replayer {
	if cfg.Wait == 0 {
		cfg.Wait = time.Second
	}
	return &Replayer{DLQ: q.DLQ, Main: q.Main, Config: cfg, Out: io.Discard}
}

// crashAfterSend fails the replay between the send and the delete.
func crashAfterSend(context.Context, []message.Message) error { return errors.New("injected crash") }

func TestReplayThatStopsBetweenSendAndDeleteLeavesADuplicateNotALoss(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	store := testenv.Store(t)
	msgs := []message.Message{eventstest.Valid(t, 1), eventstest.Valid(t, 2), eventstest.Valid(t, 3)}
	dlqtest.Put(t, q.DLQ, msgs...)

	r := replayer(q, ReplayConfig{})
	r.afterSend = crashAfterSend
	res, err := r.Run(context.Background())
	require.ErrorContains(t, err, "injected crash")
	assert.Equal(t, 0, res.Replayed)
	assert.Equal(t, 3, res.NotDeleted)

	inDLQ, inMain := dlqtest.Contents(t, q.DLQ), dlqtest.Contents(t, q.Main)
	assert.Equal(t, testenv.Bodies(msgs), testenv.Bodies(inDLQ), "nothing was deleted from the DLQ")
	assert.Equal(t, testenv.Bodies(msgs), testenv.Bodies(inMain), "everything was sent to the main queue")
	for _, m := range inMain {
		assert.Equal(t, "1", m.Text(message.AttrReplayCount))
		assert.Equal(t, m.Text(events.AttrRequestID) != "", true, "attributes are kept")
	}

	// Replaying again sends the same events a second time: the worker
	// stores each once.
	res, err = replayer(q, ReplayConfig{}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, res.Replayed)
	assert.Empty(t, dlqtest.Contents(t, q.DLQ))
	done := dlqtest.Work(t, q, store)
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
		Config: ReplayConfig{Wait: time.Second, Hold: 2 * time.Second}, Out: io.Discard,
	}
	r.afterSend = func(context.Context, []message.Message) error {
		os.Exit(3) // no deferred release, no delete: a crash
		return nil
	}
	_, _ = r.Run(context.Background())
	os.Exit(4) // the hook did not run
}

func TestReplayProcessKilledBetweenSendAndDeleteLosesNothing(t *testing.T) {
	t.Parallel()
	// A 5 s visibility timeout on the main queue: a receive of this test
	// whose answer is lost (seen on a busy machine, after an SDK "use of
	// closed network connection") hides what it took for 5 s, not 30, and
	// the polls below outlast that. On the DLQ (30 s) dlqtest.Contents
	// waits for what the queue counts in flight: the child's hold, or a
	// lost answer's.
	q := testenv.NewQueues(t, 5, 5*time.Second)
	msgs := dlqtest.PutValid(t, q.DLQ, 15)

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessCrashesBetweenSendAndDelete$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DLQ_CRASH_HELPER=1", "DLQ_CRASH_DLQ="+q.DLQ.URL, "DLQ_CRASH_MAIN="+q.Main.URL)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "child: %v\n%s", err, out)
	require.Equal(t, 3, exit.ExitCode(), "the child died between send and delete\n%s", out)

	// The child crashed right after its first send: one receive batch (up to
	// ten; SQS may hand out fewer) is in the main queue.
	var inMain []message.Message
	testenv.Eventually(t, 20*time.Second, "the first batch in the main queue", func() bool {
		inMain = dlqtest.Contents(t, q.Main)
		return len(inMain) > 0
	})
	assert.NotEmpty(t, inMain, "the first batch reached the main queue before the crash")
	assert.LessOrEqual(t, len(inMain), 10)
	// The crashed process held the messages it had read; they reappear
	// once their hold ends, all fifteen, none lost.
	var inDLQ []message.Message
	testenv.Eventually(t, 20*time.Second, "every message back in the DLQ", func() bool {
		inDLQ = dlqtest.Contents(t, q.DLQ)
		return len(inDLQ) == 15
	})
	assert.Equal(t, testenv.Bodies(msgs), testenv.Bodies(inDLQ))
}

func TestCtrlCAfterASendStillDeletesThatBatchAndStops(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	msgs := dlqtest.PutValid(t, q.DLQ, 25)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := replayer(q, ReplayConfig{})
	r.afterSend = func(context.Context, []message.Message) error {
		cancel() // Ctrl-C arrives right after the first send
		return nil
	}
	res, err := r.Run(ctx)
	require.NoError(t, err)
	assert.True(t, res.Interrupted)
	assert.Equal(t, 10, res.Replayed)

	inDLQ, inMain := dlqtest.Contents(t, q.DLQ), dlqtest.Contents(t, q.Main)
	assert.Len(t, inMain, 10)
	assert.Len(t, inDLQ, 15, "the rest is visible in the DLQ again at once")
	assert.ElementsMatch(t, testenv.Bodies(msgs), append(testenv.Bodies(inDLQ), testenv.Bodies(inMain)...), "each message is in exactly one queue")
}

// failingDeletes is a DLQ whose deletes all fail.
type failingDeletes struct{ Queue }

func (f failingDeletes) Delete(_ context.Context, handles []string) ([]string, error) {
	return handles, errors.New("injected delete failure")
}

func TestReplayWhoseDeletesFailReportsThemAndLosesNothing(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	msgs := []message.Message{eventstest.Valid(t, 1), eventstest.Valid(t, 2)}
	dlqtest.Put(t, q.DLQ, msgs...)

	r := replayer(q, ReplayConfig{})
	r.DLQ = failingDeletes{q.DLQ}
	var out bytes.Buffer
	r.Out = &out
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, res.NotDeleted)
	assert.Equal(t, 2, res.Problems(), "the command exits non-zero on problems")
	assert.Contains(t, out.String(), "sent but not deleted")
	assert.Len(t, dlqtest.Contents(t, q.DLQ), 2)
	assert.Len(t, dlqtest.Contents(t, q.Main), 2)
}

func TestReplayedPoisonComesBackWithItsReasonAndStopsAtTheCap(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	store := testenv.Store(t)
	bad := eventstest.Poison(1)
	good := eventstest.Valid(t, 42)
	dlqtest.Put(t, q.DLQ, bad, good)

	for round := 1; round <= DefaultMaxReplays; round++ {
		res, err := replayer(q, ReplayConfig{}).Run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 0, res.SkippedCap, "round %d", round)
		done := dlqtest.Work(t, q, store)
		assert.Equal(t, 1, done.Poisoned, "round %d: the worker dead-letters it again", round)
		inDLQ := dlqtest.Contents(t, q.DLQ)
		require.Len(t, inDLQ, 1, "round %d", round)
		back := inDLQ[0]
		assert.Equal(t, bad.Body, back.Body)
		assert.Equal(t, fmt.Sprint(round), back.Text(message.AttrReplayCount), "the worker keeps the count")
		assert.Equal(t, events.ReasonUnknownVersion, back.Text(message.AttrDLQReason), "with a fresh reason")
		assert.LessOrEqual(t, len(back.Attributes), message.MaxAttributes)
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
	assert.Len(t, dlqtest.Contents(t, q.DLQ), 1, "it stays in the DLQ")
	assert.Empty(t, dlqtest.Contents(t, q.Main))
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
	q := dlqtest.Setup(t)
	dlqtest.Put(t, q.DLQ, eventstest.Poison(1), eventstest.Poison(2))
	r := replayer(q, ReplayConfig{})
	// The worker is fast: the replayed messages are back in the DLQ (same
	// body, the count we set) before the replay looks again.
	r.afterSend = func(ctx context.Context, sent []message.Message) error {
		back := make([]message.Message, len(sent))
		for i, m := range sent {
			msg, err := replayMessage(m, 1)
			require.NoError(t, err)
			back[i] = msg
		}
		dlqtest.Put(t, q.DLQ, back...)
		return nil
	}
	res, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, res.Replayed)
	assert.Equal(t, 2, res.Returned)
	assert.Len(t, dlqtest.Contents(t, q.Main), 2, "each was sent once")
	assert.Len(t, dlqtest.Contents(t, q.DLQ), 2)
}

func TestReplayMovesOnlyWhatTheFilterSelectsAndAtMostMax(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	dlqtest.Put(t, q.DLQ, eventstest.Poison(1), eventstest.Poison(2), eventstest.Valid(t, 1), eventstest.Valid(t, 2), eventstest.Valid(t, 3))
	f, err := ParseFilter("reason=unknown_version")
	require.NoError(t, err)
	res, err := replayer(q, ReplayConfig{Filter: f}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, res.Replayed)
	assert.Equal(t, 3, res.SkippedFilter)
	for _, m := range dlqtest.Contents(t, q.Main) {
		assert.Equal(t, events.ReasonUnknownVersion, m.Text(message.AttrDLQReason))
	}
	assert.Len(t, dlqtest.Contents(t, q.DLQ), 3)

	res, err = replayer(q, ReplayConfig{Max: 2}).Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, res.Replayed)
	assert.Len(t, dlqtest.Contents(t, q.DLQ), 1)
}

func TestRateLimitPacesTheSends(t *testing.T) {
	t.Parallel()
	q := dlqtest.Setup(t)
	dlqtest.PutValid(t, q.DLQ, 6)
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

func TestReplayCountsAnEntryTheMainQueueDidNotReportAsFailedAndKeepsIt(t *testing.T) {
	t.Parallel()
	for _, fault := range []sqsfake.Fault{sqsfake.Unreported, sqsfake.ServerError} {
		q := dlqtest.Setup(t)
		lost := message.Message{Body: "lost-in-the-answer"}
		dlqtest.Put(t, q.DLQ, eventstest.Valid(t, 1), lost, eventstest.Valid(t, 2))
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
		assert.Equal(t, []string{lost.Body}, testenv.Bodies(dlqtest.Contents(t, q.DLQ)), "not deleted from the DLQ: it was not reported sent")
	}
}
