package consume_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/persist"
)

func start(t *testing.T, c *consume.Consumer) (stop func() time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert.NoError(t, c.Run(ctx))
	}()
	return func() time.Duration {
		began := time.Now()
		cancel()
		<-done
		return time.Since(began)
	}
}

func TestDuplicateDeliveriesStoreOneRowEach(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	ctx := context.Background()

	var msgs []message.Message
	for i := 0; i < 300; i++ {
		msgs = append(msgs, eventstest.Valid(t, int64(i)))
	}
	// Every tenth event is delivered three times, as SQS may do.
	withDups := append([]message.Message(nil), msgs...)
	for i := 0; i < len(msgs); i += 10 {
		withDups = append(withDups, msgs[i], msgs[i])
	}
	failed, err := qs.Main.SendBatch(ctx, withDups)
	require.NoError(t, err)
	require.Empty(t, failed)

	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	c, err := consume.New(consume.Config{Pollers: 3, WaitTime: time.Second}, qs.Main, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	testenv.Eventually(t, 60*time.Second, "300 rows", func() bool {
		n, err := store.Count(ctx)
		return err == nil && n == 300
	})
	testenv.Eventually(t, 60*time.Second, "the queue to be empty", func() bool {
		st, err := qs.Main.Stats(ctx)
		return err == nil && st.Visible == 0 && st.InFlight == 0
	})
	took := stop()
	assert.Less(t, took, 5*time.Second, "shutdown is bounded even with a long poll in progress")
	n, err := store.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 300, n, "one row per event, however often it was delivered")
}

// flakyStore fails inserts and the write probe while down is set.
type flakyStore struct {
	*pgstore.Store
	down    atomic.Bool
	inserts atomic.Int64
}

func (f *flakyStore) Insert(ctx context.Context, subs []number.Submission) (int, error) {
	f.inserts.Add(1)
	if f.down.Load() {
		return 0, fmt.Errorf("insert: %w: connection refused", number.ErrUnavailable)
	}
	return f.Store.Insert(ctx, subs)
}

func (f *flakyStore) Writable(ctx context.Context) error {
	if f.down.Load() {
		return fmt.Errorf("writable: %w", number.ErrUnavailable)
	}
	return f.Store.Writable(ctx)
}

// startOutage queues n messages on fresh queues (maxReceive, and cfg's
// visibility) and starts a consumer with cfg over a store that is down.
func startOutage(t *testing.T, n, maxReceive int, cfg consume.Config) (*flakyStore, testenv.Queues, *consume.Consumer, func() time.Duration) {
	t.Helper()
	store := &flakyStore{Store: testenv.Store(t)}
	store.down.Store(true)
	qs := testenv.NewQueues(t, maxReceive, cfg.VisibilityTimeout)
	var msgs []message.Message
	for i := 0; i < n; i++ {
		msgs = append(msgs, eventstest.Valid(t, int64(i)))
	}
	_, err := qs.Main.SendBatch(context.Background(), msgs)
	require.NoError(t, err)
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	c, err := consume.New(cfg, qs.Main, p, store, testenv.Logger(t))
	require.NoError(t, err)
	return store, qs, c, start(t, c)
}

func TestADatabaseOutageDoesNotBurnMessagesIntoTheDLQ(t *testing.T) {
	t.Parallel()
	// maxReceiveCount 2 and a 3s visibility: without pausing, an 8s outage
	// would receive each message 3 times and SQS would dead-letter it.
	store, qs, c, stop := startOutage(t, 25, 2, consume.Config{Pollers: 2, WaitTime: time.Second, VisibilityTimeout: 3 * time.Second})
	defer stop()
	ctx := context.Background()

	testenv.Eventually(t, 30*time.Second, "the consumer to pause", func() bool { return !c.Healthy() })
	time.Sleep(8 * time.Second)
	assert.LessOrEqual(t, store.inserts.Load(), int64(3), "while paused the consumer does not hammer the database")
	store.down.Store(false)

	testenv.Eventually(t, 30*time.Second, "all 25 rows after the outage", func() bool {
		n, err := store.Count(ctx)
		return err == nil && n == 25
	})
	// The gate opens after the held batch's insert returns: wait for it
	// rather than assume it has (a busy machine may be between the two).
	testenv.Eventually(t, 30*time.Second, "receiving to resume", c.Healthy)
	dead, err := qs.DLQ.Stats(ctx)
	require.NoError(t, err)
	assert.Zero(t, dead.Visible+dead.InFlight, "nothing reached the dead-letter queue")
}

func TestShutdownHandsHeldMessagesBackAtOnce(t *testing.T) {
	t.Parallel()
	// A visibility far longer than the deadline below: only a hand-back
	// (visibility 0) makes the messages visible again in time. Two
	// receives' worth of messages: should the answer of one be lost (its
	// messages then stay in flight for the 5 minutes), another brings some
	// to hold.
	_, qs, c, stop := startOutage(t, 20, 5, consume.Config{Pollers: 1, WaitTime: time.Second, VisibilityTimeout: 5 * time.Minute})
	ctx := context.Background()
	testenv.Eventually(t, 30*time.Second, "the consumer to hold what it received and stop receiving", func() bool {
		st := c.Status()
		return st.Held > 0 && !st.Receiving
	})
	st := c.Status()
	assert.NotEmpty(t, st.LastError, "the status says why it holds them")
	assert.False(t, st.HoldingSince.IsZero())
	// Let the long poll that was in flight when receiving paused end: SQS
	// may still deliver to a receive its client abandoned (the local server
	// does), which would take the handed-back messages for 5 minutes.
	time.Sleep(3 * time.Second)
	held := c.Status().Held
	before, err := qs.Main.Stats(ctx)
	require.NoError(t, err)
	stop()
	testenv.Eventually(t, 60*time.Second, fmt.Sprintf("the %d held messages to be visible again", held), func() bool {
		st, err := qs.Main.Stats(ctx)
		return err == nil && st.Visible == before.Visible+held
	})
}

// pacedQueue is the real queue, noting how long after a receive that
// brought fewer than ten messages the next receive began.
type pacedQueue struct {
	consume.Queue
	mu          sync.Mutex
	lastPartial time.Time
	gaps        []time.Duration
}

func (q *pacedQueue) Receive(ctx context.Context, max int, wait time.Duration) ([]message.Message, error) {
	q.mu.Lock()
	if !q.lastPartial.IsZero() {
		q.gaps = append(q.gaps, time.Since(q.lastPartial))
		q.lastPartial = time.Time{}
	}
	q.mu.Unlock()
	msgs, err := q.Queue.Receive(ctx, max, wait)
	if len(msgs) > 0 && len(msgs) < max {
		q.mu.Lock()
		q.lastPartial = time.Now()
		q.mu.Unlock()
	}
	return msgs, err
}

func TestAfterAReceiveOfFewerThanTenAPollerPausesSoMessagesGather(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	ctx := context.Background()
	q := &pacedQueue{Queue: qs.Main}
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	const pause = 500 * time.Millisecond
	c, err := consume.New(consume.Config{Pollers: 1, WaitTime: time.Second, ReceivePause: pause}, q, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()

	// A thin stream: one message at a time, each stored before the next.
	for i := range 3 {
		_, err := qs.Main.SendBatch(ctx, []message.Message{eventstest.Valid(t, int64(i))})
		require.NoError(t, err)
		// Past the queue's visibility: the message of a receive whose
		// answer was lost comes again only after it.
		testenv.Eventually(t, qs.Spec.VisibilityTimeout+30*time.Second, "the message stored", func() bool {
			n, err := store.Count(ctx)
			return err == nil && n == i+1
		})
	}
	testenv.Eventually(t, 30*time.Second, "a receive after a partial one", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.gaps) >= 2
	})
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, g := range q.gaps {
		assert.GreaterOrEqual(t, g, pause, "a poller pauses after a receive of fewer than ten")
	}
}

// countedQueue is the real queue, counting receives, and noting whether
// the last one brought max messages all sent while it waited. With
// emptyAtOnce a receive answers empty at once instead of asking SQS: what
// a local SQS answers a poller it woke for a message that another poller
// took.
type countedQueue struct {
	consume.Queue
	emptyAtOnce   bool
	receives      atomic.Int64
	lastFreshFull atomic.Bool
}

func (q *countedQueue) Receive(ctx context.Context, max int, wait time.Duration) ([]message.Message, error) {
	q.receives.Add(1)
	if q.emptyAtOnce {
		return nil, nil
	}
	began := time.Now().Truncate(time.Millisecond) // SentTimestamp's resolution
	msgs, err := q.Queue.Receive(ctx, max, wait)
	fresh := len(msgs) == max
	for _, m := range msgs {
		fresh = fresh && !m.SentAt.Before(began)
	}
	q.lastFreshFull.Store(fresh)
	return msgs, err
}

// An empty answer before the long poll is over (a local SQS that woke a
// poller for a message another took) must not make the poller ask again at
// once, in a loop.
func TestAnEmptyReceiveThatEndsBeforeItsLongPollPausesThePollerToo(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	q := &countedQueue{Queue: qs.Main, emptyAtOnce: true}
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	c, err := consume.New(consume.Config{Pollers: 1, WaitTime: 5 * time.Second, ReceivePause: time.Hour}, q, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()
	testenv.Eventually(t, 30*time.Second, "a first receive", func() bool { return q.receives.Load() >= 1 })
	time.Sleep(300 * time.Millisecond) // without the pause, dozens of receives at least
	assert.Equal(t, int64(1), q.receives.Load(), "the poller pauses after an empty receive that ended early")
}

// An empty receive that waited out its long poll says the queue is idle:
// the next long poll starts at once, so a message that comes is taken at once.
func TestAnEmptyReceiveThatWaitedOutItsLongPollIsFollowedAtOnce(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	q := &countedQueue{Queue: qs.Main}
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	c, err := consume.New(consume.Config{Pollers: 1, WaitTime: time.Second, ReceivePause: time.Hour}, q, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()
	testenv.Eventually(t, 60*time.Second, "three long polls in a row", func() bool { return q.receives.Load() >= 3 })
}

func TestConfigIsValidated(t *testing.T) {
	_, err := consume.New(consume.Config{WaitTime: 21 * time.Second}, nil, nil, nil, testenv.Logger(t))
	assert.ErrorContains(t, err, "WaitTime")
	// SQS refuses a negative WaitTimeSeconds on every receive: refused at start instead.
	_, err = consume.New(consume.Config{WaitTime: -time.Second}, nil, nil, nil, testenv.Logger(t))
	assert.ErrorContains(t, err, "WaitTime")
	// The SDK cannot ask for less than a second (it drops a WaitTimeSeconds
	// of 0, and SQS waits the queue's default), nor SQS wait a fraction.
	for _, wait := range []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond} {
		_, err = consume.New(consume.Config{WaitTime: wait}, nil, nil, nil, testenv.Logger(t))
		assert.ErrorIs(t, err, sqsqueue.ErrWait, "WaitTime %v", wait)
	}
	_, err = consume.New(consume.Config{VisibilityTimeout: time.Second}, nil, nil, nil, testenv.Logger(t))
	assert.ErrorContains(t, err, "VisibilityTimeout")
	// A batch that fills for longer than its visibility lasts is handed out
	// again while it waits: stored and, by the redrive policy, dead-lettered.
	_, err = consume.New(consume.Config{VisibilityTimeout: 3 * time.Second, FlushInterval: 10 * time.Second}, nil, nil, nil, testenv.Logger(t))
	assert.ErrorContains(t, err, "WORKER_FLUSH_INTERVAL")
}

// batchSizes is the real persister, recording how many messages each
// batch it was given held (one INSERT each).
type batchSizes struct {
	consume.Processor
	mu    sync.Mutex
	sizes []int
}

func (b *batchSizes) Process(ctx context.Context, msgs []message.Message) persist.Result {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(msgs))
	b.mu.Unlock()
	return b.Processor.Process(ctx, msgs)
}

func (b *batchSizes) seen() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sizes)
}

// A receive of fewer than ten means its poller now pauses: nothing more is
// coming soon, so its messages are written at once, not after the flush
// interval (90 s here).
func TestAThinReceiveIsWrittenAtOnceNotAfterTheFlushInterval(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	sendValid(t, qs.Main, 1, 3)
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	c, err := consume.New(consume.Config{Pollers: 1, Flushers: 1, WaitTime: time.Second, FlushInterval: 90 * time.Second, VisibilityTimeout: 5 * time.Minute}, qs.Main, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()
	waitRows(t, store, 3, qs.Spec.VisibilityTimeout+30*time.Second) // past a lost receive answer
}

// Full receives say more is on its way (the poller receives again at
// once): the flusher gathers them into one INSERT instead of writing each,
// and the thin receive that ends the backlog ends the wait (the flush
// interval is 90 s).
func TestFullReceivesAreGatheredIntoOneInsert(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	sendValid(t, qs.Main, 0, 35)
	p := &batchSizes{Processor: &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}}
	c, err := consume.New(consume.Config{Pollers: 1, Flushers: 1, WaitTime: time.Second, FlushInterval: 90 * time.Second, VisibilityTimeout: 5 * time.Minute}, qs.Main, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()
	waitRows(t, store, 35, 60*time.Second)
	sizes := p.seen()
	assert.Greater(t, slices.Max(sizes), 10, "at least two full receives in one batch: %v", sizes)
}

// A full receive of messages sent while it waited found the queue empty:
// the poller is following the stream (proxies send batches of ten), so it
// pauses for more to gather instead of taking each batch as it comes.
func TestAPollerThatTookABatchSentWhileItWaitedPausesForMoreToGather(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	ctx := context.Background()
	q := &countedQueue{Queue: qs.Main}
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	// The flush interval is longer than the test: the poller pauses, so no
	// more is coming and the flusher must not wait for it.
	c, err := consume.New(consume.Config{Pollers: 1, WaitTime: 5 * time.Second, ReceivePause: time.Hour,
		FlushInterval: 90 * time.Second, VisibilityTimeout: 5 * time.Minute}, q, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()
	testenv.Eventually(t, 30*time.Second, "a first receive", func() bool { return q.receives.Load() >= 1 })
	// Ten sent while a receive waits, taken by it. Should its answer be
	// lost, they come back after the queue's visibility timeout as a
	// backlog, which the poller follows at once: then ten more are sent
	// while its next receive waits.
	sent := 0
	for attempt := 1; ; attempt++ {
		sendValid(t, qs.Main, sent, 10)
		sent += 10
		waitRows(t, store, sent, qs.Spec.VisibilityTimeout+30*time.Second)
		if q.lastFreshFull.Load() {
			break
		}
		require.Less(t, attempt, 3, "a receive took ten messages sent while it waited")
		t.Logf("attempt %d: the ten came to a receive that began after they were sent (a lost answer)", attempt)
	}
	paused := q.receives.Load()
	sendValid(t, qs.Main, sent, 10)
	time.Sleep(300 * time.Millisecond) // without the pause, the next receive was already waiting
	assert.Equal(t, paused, q.receives.Load(), "the poller pauses after a full receive it waited for")
	n, err := store.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, sent, n, "the last batch waits in the queue for the pause to end")
}

// A full receive of messages that were there before it began is a
// backlog: the poller receives again at once until it is drained.
func TestAFullReceiveFromABacklogIsFollowedAtOnce(t *testing.T) {
	t.Parallel()
	store := testenv.Store(t)
	// A short visibility timeout: the messages of a receive whose answer is
	// lost come back within seconds. (Once, in a make test beside two CPU
	// hogs, a receive's connection closed under it; the next receives found
	// 10 and 5, the thin one paused the poller for the hour this test used
	// to set, and the 10 came back too late.)
	qs := testenv.NewQueues(t, 5, 5*time.Second)
	sendValid(t, qs.Main, 0, 45)
	time.Sleep(5 * time.Millisecond) // SentTimestamp has millisecond resolution
	p := &persist.Persister{Store: store, DLQ: qs.DLQ, Log: testenv.Logger(t), Now: time.Now}
	// A poller that paused after each full receive of the backlog would
	// need four pauses (80 s) for the 45, past the wait below; one that
	// follows a backlog at once needs none (one after a lost answer).
	c, err := consume.New(consume.Config{Pollers: 1, WaitTime: time.Second, ReceivePause: 20 * time.Second}, qs.Main, p, store, testenv.Logger(t))
	require.NoError(t, err)
	stop := start(t, c)
	defer stop()
	waitRows(t, store, 45, 60*time.Second)
}

// sendValid queues n valid events with values from, from+1, ….
func sendValid(t *testing.T, q sqsqueue.Queue, from, n int) {
	t.Helper()
	var msgs []message.Message
	for i := range n {
		msgs = append(msgs, eventstest.Valid(t, int64(from+i)))
	}
	_, err := q.SendBatch(context.Background(), msgs)
	require.NoError(t, err)
}

// waitRows waits up to timeout for the store to hold n rows.
func waitRows(t *testing.T, store *pgstore.Store, n int, timeout time.Duration) {
	t.Helper()
	testenv.Eventually(t, timeout, fmt.Sprintf("%d rows", n), func() bool {
		got, err := store.Count(context.Background())
		return err == nil && got == n
	})
}
