package sqsqueue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/shared/testenv/hung"
)

// sendAtOnce sends n messages through pub, each from its own goroutine,
// msg(i) the i-th, and returns each send's error once all have returned.
func sendAtOnce(ctx context.Context, pub *sqsqueue.Publisher, n int, msg func(i int) message.Message) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pub.Send(ctx, msg(i))
		}()
	}
	wg.Wait()
	return errs
}

func TestPublisherAcknowledgesEachMessageOnceSQSHasIt(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	pub, err := sqsqueue.NewPublisher(qs.Client, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()

	const n = 95 // not a multiple of the batch size
	errs := sendAtOnce(context.Background(), pub, n, func(i int) message.Message {
		return message.Message{
			Body: fmt.Sprintf(`{"n":%d}`, i), Attributes: map[string]message.Attribute{"request_id": message.String(fmt.Sprint("r", i)), "empty": message.String("")},
		}
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	got := testenv.ReceiveAll(t, qs.Main, n, qs.MainWait())
	require.Len(t, got, n, "every acknowledged message is in the queue")
	bodies := map[string]bool{}
	for _, m := range got {
		bodies[m.Body] = true
		assert.NotEmpty(t, m.Text("request_id"), "attributes travel with the message")
		assert.Equal(t, 1, m.ReceiveCount)
	}
	assert.Len(t, bodies, n, "no message sent twice")
}

func TestPublisherAnswersUnavailableWhenSQSIsDown(t *testing.T) {
	t.Parallel()
	client, err := sqsqueue.NewClient(context.Background(), sqsqueue.ClientConfig{Endpoint: "http://127.0.0.1:1"})
	require.NoError(t, err)
	pub, err := sqsqueue.NewPublisher(client, sqsqueue.PublisherConfig{QueueURL: "http://127.0.0.1:1/000000000000/none", SendTimeout: 2 * time.Second}, zerolog.Nop())
	require.NoError(t, err)
	defer pub.Close()
	start := time.Now()
	err = pub.Send(context.Background(), message.Message{Body: "x"})
	assert.ErrorIs(t, err, number.ErrUnavailable)
	assert.Less(t, time.Since(start), 5*time.Second, "fails within the send timeout")

	q := sqsqueue.Queue{API: client, URL: "http://127.0.0.1:1/000000000000/none"}
	assert.ErrorIs(t, q.Ping(context.Background()), number.ErrUnavailable)
}

// deadlineSQS is the real client, telling each call's deadline as it starts.
type deadlineSQS struct {
	sqsqueue.SendBatchAPI
	started chan time.Time
}

func (d *deadlineSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	deadline, _ := ctx.Deadline()
	d.started <- deadline
	return d.SendBatchAPI.SendMessageBatch(ctx, in, opts...)
}

// A Send that waits for a free sender, the only one busy with a call to an
// SQS that accepts connections and never answers, is answered within
// SendTimeout of its Send, not of the call it gets at last: the proxy gives
// a write no deadline of its own, and an answer written after the server's
// WriteTimeout reaches nobody.
func TestASendWaitingForAFreeSenderIsAnsweredWithinSendTimeoutOfItsSend(t *testing.T) {
	t.Parallel()
	endpoint := "http://" + hung.Listener(t).Addr().String()
	client, err := sqsqueue.NewClient(context.Background(), sqsqueue.ClientConfig{Endpoint: endpoint})
	require.NoError(t, err)
	api := &deadlineSQS{SendBatchAPI: client, started: make(chan time.Time, 2)}
	const timeout = 3 * time.Second
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: endpoint + "/000000000000/hung",
		MaxInFlight: 1, MaxWait: -1, SendTimeout: timeout}, zerolog.Nop())
	require.NoError(t, err)
	defer pub.Close()

	first := make(chan error, 1)
	go func() { first <- pub.Send(context.Background(), message.Message{Body: "first"}) }()
	var firstDeadline time.Time
	select {
	case firstDeadline = <-api.started:
	case <-time.After(time.Minute):
		t.Fatal("the first message was not sent")
	}
	require.False(t, firstDeadline.IsZero(), "a call has a deadline")
	// Sent a moment after the first's call began, so its own SendTimeout
	// ends a moment after the first's.
	assert.ErrorIs(t, pub.Send(context.Background(), message.Message{Body: "second"}), number.ErrUnavailable)
	assert.ErrorIs(t, <-first, number.ErrUnavailable)
	select {
	case deadline := <-api.started:
		assert.Less(t, deadline.Sub(firstDeadline), timeout/2,
			"the second message's call has until its Send plus SendTimeout, not a fresh SendTimeout after the first's call")
	default:
		// Nothing was left of its SendTimeout when the sender was free: no call.
	}
}

// A taken message's Send reports SQS's answer even when its context is
// cancelled while the call is out (the message may be in SQS, and only the
// answer says so), but a deadline of the context's that comes before
// SendTimeout still ends the wait at that deadline.
func TestASendWaitsForSQSsAnswerThoughCancelledButNotPastItsDeadline(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 10)}
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, MaxWait: -1, SendTimeout: time.Minute}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	defer api.open() // before Close, which waits for the calls in flight: a failure fails, not hangs

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() { cancelled <- pub.Send(ctx, message.Message{Body: "cancelled"}) }()
	api.nextCall(t, "the message was not sent")
	cancel()
	select {
	case err := <-cancelled:
		t.Fatalf("Send returned %v when its context was cancelled, before SQS answered", err)
	case <-time.After(100 * time.Millisecond):
	}

	// The sender is held; this one waits with a deadline well within
	// SendTimeout, and gets it.
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	assert.ErrorIs(t, pub.Send(short, message.Message{Body: "short"}), context.DeadlineExceeded)

	api.open()
	select {
	case err := <-cancelled:
		require.NoError(t, err, "SQS took the message whose context was cancelled, and Send says so")
	case <-time.After(time.Minute):
		t.Fatal("Send did not return once SQS answered")
	}
	got := testenv.ReceiveAll(t, qs.Main, 2, qs.MainWait())
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, m.Body)
	}
	assert.Contains(t, bodies, "cancelled")
}

// blockingAPI never answers until released, to fill the publisher.
type blockingAPI struct {
	release chan struct{}
	calls   chan struct{}
}

func (b *blockingAPI) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	b.calls <- struct{}{}
	<-b.release
	return nil, fmt.Errorf("released")
}

func TestPublisherShedsLoadInsteadOfQueueingWithoutBound(t *testing.T) {
	t.Parallel()
	api := &blockingAPI{release: make(chan struct{}), calls: make(chan struct{}, 100)}
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: "q", MaxInFlight: 1, MaxPending: 5, MaxBatch: 1}, zerolog.Nop())
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() { results <- pub.Send(ctx, message.Message{Body: "x"}) }()
	}
	// One call in flight, one batch waiting for a slot, five pending: the
	// rest must be refused at once.
	overloaded := 0
	for i := 0; i < 20-1-1-5; i++ {
		select {
		case err := <-results:
			assert.ErrorIs(t, err, number.ErrOverloaded)
			overloaded++
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d sends were refused; the publisher queues without bound", overloaded)
		}
	}
	close(api.release)
	cancel()
	pub.Close()
}

// heldSQS is the real client whose sends first wait, each for at least
// delay and then until the gate lets them through (an open gate when nil).
type heldSQS struct {
	sqsqueue.SendBatchAPI
	delay   time.Duration
	gate    chan struct{}
	started chan int // the number of entries of each call, as it starts
	once    sync.Once
}

// open lets the held calls go; safe to call more than once (a test defers
// it before Close, which waits for the calls in flight, so a failure fails
// instead of hanging).
func (h *heldSQS) open() { h.once.Do(func() { close(h.gate) }) }

// nextCall waits up to a minute for the next call to start and returns its
// number of entries; failing says why the test fails if none starts.
func (h *heldSQS) nextCall(t *testing.T, failing string) int {
	t.Helper()
	select {
	case n := <-h.started:
		return n
	case <-time.After(60 * time.Second):
		t.Fatal(failing)
		return 0
	}
}

func (h *heldSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	if h.started != nil {
		h.started <- len(in.Entries)
	}
	time.Sleep(h.delay)
	if h.gate != nil {
		<-h.gate
	}
	return h.SendBatchAPI.SendMessageBatch(ctx, in, opts...)
}

func TestALoneMessageIsSentAtOnceNotAfterTheLinger(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	// A linger no test would wait for: a lone message must not wait for it.
	pub, err := sqsqueue.NewPublisher(qs.Client, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: time.Hour}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	for i := range 3 {
		done := make(chan error, 1)
		go func() { done <- pub.Send(context.Background(), message.Message{Body: fmt.Sprint("lone ", i)}) }()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(60 * time.Second):
			t.Fatal("a lone message waited for the batch linger")
		}
	}
	assert.Len(t, testenv.ReceiveAll(t, qs.Main, 3, qs.MainWait()), 3)
}

// sendFirstAlone sends a first message through pub, its answer to errs,
// and waits until api's call for it has started, alone.
func sendFirstAlone(t *testing.T, pub *sqsqueue.Publisher, api *heldSQS, errs chan<- error) {
	t.Helper()
	go func() { errs <- pub.Send(context.Background(), message.Message{Body: "first"}) }()
	select {
	case n := <-api.started:
		require.Equal(t, 1, n, "the first message goes alone, at once")
	case <-time.After(60 * time.Second):
		t.Fatal("the first message was not sent")
	}
}

func TestMessagesThatArriveWhileASendIsInFlightAreBatched(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 10)}
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: time.Hour}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	defer api.open() // before Close, which waits for the calls in flight: a failure fails, not hangs

	errs := make(chan error, 11)
	sendFirstAlone(t, pub, api, errs)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pub.Send(context.Background(), message.Message{Body: fmt.Sprint("then ", i)})
		}()
	}
	assert.Equal(t, 10, api.nextCall(t, "the ten were not sent as one full batch"), "the ten that came while a send was in flight go together")
	api.open()
	wg.Wait()
	for range 11 {
		require.NoError(t, <-errs)
	}
	assert.Len(t, testenv.ReceiveAll(t, qs.Main, 11, qs.MainWait()), 11)
}

// countingSQS is the real client, counting calls and the entries they carry.
type countingSQS struct {
	sqsqueue.SendBatchAPI
	calls, entries atomic.Int64
}

func (c *countingSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	c.calls.Add(1)
	c.entries.Add(int64(len(in.Entries)))
	return c.SendBatchAPI.SendMessageBatch(ctx, in, opts...)
}

func TestMessagesComingFasterThanTheBusyRateAreBatchedThoughEachSendIsQuick(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &countingSQS{SendBatchAPI: qs.Client}
	// Messages come every few ms, much faster than the 20/s busy rate, and
	// the local SQS answers each send before the next message comes: only
	// lingering for company fills the batches. (On a busy machine the gaps
	// grow, but stay far under 1/20 s, and late messages bunch up, which
	// fills batches more, not less.)
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: 200 * time.Millisecond, BusyRate: 20}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()

	// A burst first, so that messages are seen to overlap however the
	// machine schedules the stream: on a busy machine this loop's sleeps
	// stretch evenly, every quick send ended before the next message came,
	// none overlapped, and all 400 went alone (a helper's -count=20 runs
	// failed that way 8 times in 20, before and after the Publisher's
	// rewrite). A publisher without the busy-rate rule still sends the
	// stream one message a call after the burst.
	const burst = 10
	for _, err := range sendAtOnce(context.Background(), pub, burst, func(i int) message.Message {
		return message.Message{Body: fmt.Sprint("burst ", i)}
	}) {
		require.NoError(t, err)
	}
	const n = 400
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- pub.Send(context.Background(), message.Message{Body: fmt.Sprint("steady ", i)}) }()
		time.Sleep(2 * time.Millisecond)
	}
	for range n {
		require.NoError(t, <-errs)
	}
	// The first hundred or so go alone while the moving average of the gaps
	// learns the rate, and until two messages overlap; then batches of up
	// to ten. (On a busy machine a linger may end alone when this loop is
	// descheduled, which pauses the lingering until messages overlap
	// again: the bound leaves room for that.) A publisher that lingers only
	// behind a send in flight made 197 calls for 200 messages here.
	assert.Equal(t, int64(burst+n), api.entries.Load())
	t.Logf("%d calls for %d messages", api.calls.Load(), burst+n)
	assert.LessOrEqual(t, api.calls.Load(), int64(n/2), "a steady stream faster than the busy rate is sent in batches")
	assert.Len(t, testenv.ReceiveAll(t, qs.Main, burst+n, qs.MainWait()), burst+n)
}

func TestAClientThatWaitsForEachAnswerNeverWaitsForTheLingerHoweverFastItPosts(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	// Posts come far faster than a busy rate of 20/s, but one at a time:
	// each waits for its answer, so none ever has company and lingering
	// (for an hour here) would only stall the client.
	pub, err := sqsqueue.NewPublisher(qs.Client, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: time.Hour, BusyRate: 20}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()

	const n = 300
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if err := pub.Send(context.Background(), message.Message{Body: fmt.Sprint("sequential ", i)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(2 * time.Minute):
		t.Fatal("a client that posts one at a time waited for the linger")
	}
	assert.Len(t, testenv.ReceiveAll(t, qs.Main, n, qs.MainWait()), n)
}

func TestAMessageThatWouldWaitTooLongIsRefusedAtOnceNotQueued(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	// Every call takes at least 400ms, more than MaxWait allows.
	api := &heldSQS{SendBatchAPI: qs.Client, delay: 400 * time.Millisecond}
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, MaxWait: 100 * time.Millisecond}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()

	// With nothing in flight a message always goes (and the publisher
	// learns how long a call takes).
	require.NoError(t, pub.Send(context.Background(), message.Message{Body: "observed"}))

	api.gate = make(chan struct{})
	api.started = make(chan int, 1)
	defer api.open() // before Close, which waits for the calls in flight
	inFlight := make(chan error, 1)
	go func() { inFlight <- pub.Send(context.Background(), message.Message{Body: "in flight"}) }()
	<-api.started
	// (Bounded, so that a publisher that queued it fails here, not hangs.)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = pub.Send(ctx, message.Message{Body: "refused"})
	require.ErrorIs(t, err, number.ErrOverloaded, "behind a call that takes longer than MaxWait, a message is refused at once")
	api.open()
	require.NoError(t, <-inFlight)

	got := testenv.ReceiveAll(t, qs.Main, 2, qs.MainWait())
	bodies := map[string]bool{}
	for _, m := range got {
		bodies[m.Body] = true
	}
	assert.Equal(t, map[string]bool{"observed": true, "in flight": true}, bodies, "the refused message was never queued")
}

func TestMessagesThatArriveWhileEverySenderIsBusyGoTogetherThoughTheirLingerEnds(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 20)}
	// One sender, and admission control off: this is about batching only.
	const linger = 50 * time.Millisecond
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, MaxInFlight: 1, Linger: linger, MaxWait: -1}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	defer api.open() // before Close, which waits for the calls in flight

	errs := make(chan error, 11)
	sendFirstAlone(t, pub, api, errs)
	// Ten more, each well after the one before, so that each one's linger
	// ends while the only sender is still held (a busy machine only
	// lengthens the gaps). A call for each of them would make the queue
	// grow while SQS is slow, where waiting for a free sender fills them.
	for i := range 10 {
		go func() { errs <- pub.Send(context.Background(), message.Message{Body: fmt.Sprint("then ", i)}) }()
		time.Sleep(3 * linger)
	}
	api.open()
	for range 11 {
		require.NoError(t, <-errs)
	}
	var calls []int
	for len(api.started) > 0 {
		calls = append(calls, <-api.started)
	}
	assert.LessOrEqual(t, len(calls), 2, "the ten that came while the only sender was busy go in at most two calls, not one each: %v", calls)
	assert.Len(t, testenv.ReceiveAll(t, qs.Main, 11, qs.MainWait()), 11)
}

func TestCloseUnderLoadAnswersEverySendAndSendsEveryMessageItTook(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	// Calls that take a while, and more clients than one call takes, keep a
	// call in flight and a batch forming when Close comes.
	api := &heldSQS{SendBatchAPI: qs.Client, delay: 5 * time.Millisecond}
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, MaxInFlight: 1, MaxWait: -1}, testenv.Logger(t))
	require.NoError(t, err)

	const clients, most = 16, 200
	var acked sync.Map
	var nAcked atomic.Int64
	var wg sync.WaitGroup
	unexpected := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range most {
				body := fmt.Sprintf("c%d-%d", c, i)
				err := pub.Send(context.Background(), message.Message{Body: body})
				if err != nil {
					if !errors.Is(err, number.ErrUnavailable) {
						unexpected <- err
					}
					return // shut down: this client stops
				}
				acked.Store(body, true)
				nAcked.Add(1)
			}
		}()
	}
	// Close once the load is under way, twice and at once.
	deadline := time.Now().Add(60 * time.Second)
	for nAcked.Load() < clients && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.GreaterOrEqual(t, nAcked.Load(), int64(clients), "the load got under way")
	closed := make(chan struct{}, 2)
	for range 2 {
		go func() { pub.Close(); closed <- struct{}{} }()
	}
	for range 2 {
		select {
		case <-closed:
		case <-time.After(60 * time.Second):
			t.Fatal("Close did not return under load")
		}
	}
	answered := make(chan struct{})
	go func() { wg.Wait(); close(answered) }()
	select {
	case <-answered:
	case <-time.After(60 * time.Second):
		t.Fatal("a Send was left waiting after Close")
	}
	close(unexpected)
	for err := range unexpected {
		t.Errorf("a Send cut short by Close must answer unavailable, got %v", err)
	}
	assert.ErrorIs(t, pub.Send(context.Background(), message.Message{Body: "late"}), number.ErrUnavailable, "a Send after Close is refused")

	want := int(nAcked.Load())
	require.Less(t, want, clients*most, "Close came before the load ended")
	got := testenv.ReceiveAll(t, qs.Main, want, qs.MainWait())
	bodies := map[string]bool{}
	for _, m := range got {
		_, ok := acked.Load(m.Body)
		assert.True(t, ok, "only acknowledged messages are in the queue, not %q", m.Body)
		bodies[m.Body] = true
	}
	assert.Len(t, bodies, want, "every acknowledged message is in the queue, once")
	assert.Empty(t, testenv.ReceiveFor(t, qs.Main, 2*time.Second), "and nothing else")
}

// sizingSQS is the real client, recording the bytes of each call's
// messages as SQS counts them (bodies only: the test sends no attributes).
type sizingSQS struct {
	heldSQS
	mu    sync.Mutex
	sizes [][]int
}

func (s *sizingSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	sizes := make([]int, len(in.Entries))
	for i, e := range in.Entries {
		sizes[i] = len(*e.MessageBody)
	}
	s.mu.Lock()
	s.sizes = append(s.sizes, sizes)
	s.mu.Unlock()
	return s.heldSQS.SendMessageBatch(ctx, in, opts...)
}

func TestBatchesOfLargeMessagesAreSplitToStayWithinSQSsRequestSize(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &sizingSQS{heldSQS: heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 20)}}
	// Calls are held until the gate opens, and a batch lingers an hour: a
	// batch of the large messages goes only when the next one would take
	// it past SQS's limit on a request.
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, MaxInFlight: 4, Linger: time.Hour, MaxWait: -1}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	defer api.open() // before Close, which waits for the calls in flight

	const n = 8
	errs := make(chan error, n+1)
	go func() { errs <- pub.Send(context.Background(), message.Message{Body: "first"}) }()
	select {
	case <-api.started:
	case <-time.After(60 * time.Second):
		t.Fatal("the first message was not sent")
	}
	// Three of these fit in a request of 1 MiB, four do not: of eight, the
	// fourth and the seventh each send the three before them.
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pub.Send(context.Background(), message.Message{Body: fmt.Sprint(i, strings.Repeat("x", 300<<10))})
		}()
	}
	for calls := 0; calls < 2; calls++ {
		select {
		case got := <-api.started:
			require.Equal(t, 3, got, "a batch of large messages goes when the next would not fit")
		case <-time.After(60 * time.Second):
			t.Fatal("no batch of large messages went while the first was held: the batch was not split")
		}
	}
	api.open()
	wg.Wait()
	for range n + 1 {
		require.NoError(t, <-errs)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	for _, call := range api.sizes {
		total := 0
		for _, s := range call {
			total += s
		}
		assert.LessOrEqual(t, total, message.MaxRequestBytes, "a call of %d messages, %d bytes", len(call), total)
	}
	assert.Len(t, testenv.ReceiveAll(t, qs.Main, n+1, qs.MainWait()), n+1)
}

func TestABatchLargerThanMaxPendingStillFillsWhileASendIsInFlight(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 10)}
	// Fewer may wait than a batch takes: the batch must still fill (the
	// linger is an hour), so those waiting are taken into it when they fill
	// MaxPending, and a client told to retry gets in.
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: time.Hour, MaxPending: 2, MaxWait: -1}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	defer api.open()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errs := make(chan error, 11)
	sendFirstAlone(t, pub, api, errs)
	for i := range 10 {
		go func() {
			for {
				err := pub.Send(ctx, message.Message{Body: fmt.Sprint("then ", i)})
				if !errors.Is(err, number.ErrOverloaded) || ctx.Err() != nil {
					errs <- err
					return
				}
				time.Sleep(time.Millisecond) // told to retry
			}
		}()
	}
	select {
	case n := <-api.started:
		assert.Equal(t, 10, n, "the ten go together")
	case <-ctx.Done():
		t.Fatal("the ten never filled a batch: those waiting were not taken")
	}
	api.open()
	for range 11 {
		require.NoError(t, <-errs)
	}
	assert.Len(t, testenv.ReceiveAll(t, qs.Main, 11, qs.MainWait()), 11)
}

func TestCloseSendsALingeringBatchAtOnce(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 10)}
	// The second message lingers behind the held first, for an hour: Close
	// must send it at once, not wait for the linger or for the first.
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: time.Hour, MaxWait: -1}, testenv.Logger(t))
	require.NoError(t, err)
	defer api.open()

	errs := make(chan error, 2)
	sendFirstAlone(t, pub, api, errs)
	go func() { errs <- pub.Send(context.Background(), message.Message{Body: "lingering"}) }()
	// Close once the second is queued (the loop may not have taken it yet,
	// which must not lose it either).
	deadline := time.Now().Add(60 * time.Second)
	for pub.Waiting() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.EqualValues(t, 2, pub.Waiting(), "the first is held and the second queued")
	closed := make(chan struct{})
	go func() { pub.Close(); close(closed) }()
	assert.Equal(t, 1, api.nextCall(t, "Close did not send the lingering batch while the first call was held"), "the lingering message goes at Close")
	api.open()
	select {
	case <-closed:
	case <-time.After(60 * time.Second):
		t.Fatal("Close did not return")
	}
	for range 2 {
		require.NoError(t, <-errs)
	}
	assert.Len(t, testenv.ReceiveAll(t, qs.Main, 2, qs.MainWait()), 2)
}
