package sqsqueue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// jsonBody is a message whose body is the JSON string s, so that an
// aggregate of them is a JSON array of strings.
func jsonBody(s string) message.Message {
	b, _ := json.Marshal(s)
	return message.Message{Body: string(b), Attributes: map[string]message.Attribute{events.AttrRequestID: message.String("r-" + s[:min(len(s), 8)])}}
}

// eventsOf reads a message as the tests send them: an aggregate (a JSON
// array of strings with event_count) or one JSON string.
func eventsOf(t *testing.T, m message.Message) []string {
	t.Helper()
	if m.Text(events.AttrEventCount) == "" {
		var s string
		if json.Unmarshal([]byte(m.Body), &s) != nil {
			s = m.Body // the lone first message, sent as it is
		}
		return []string{s}
	}
	var all []string
	require.NoError(t, json.Unmarshal([]byte(m.Body), &all), "an aggregate's body is a JSON array of its events")
	require.Equal(t, strconv.Itoa(len(all)), m.Text(events.AttrEventCount), "event_count says how many events the body holds")
	return all
}

// sendWhileHeld sends first alone through pub (api held), then n more
// from their own goroutines while it is held; their answers go to errs.
func sendWhileHeld(t *testing.T, pub *sqsqueue.Publisher, api *heldSQS, errs chan<- error, n int, body func(i int) string) *sync.WaitGroup {
	t.Helper()
	sendFirstAlone(t, pub, api, errs)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pub.Send(context.Background(), jsonBody(body(i)))
		}()
	}
	return &wg
}

func TestConcurrentSendsGoAsOneAggregatedMessageAndALoneSendAsItIs(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 10)}
	// A linger no test waits for: the ten go when they fill MaxAggregate.
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: time.Hour, MaxWait: -1,
		Aggregate: events.Aggregate, MaxAggregate: 10}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	defer api.open()

	errs := make(chan error, 11)
	wg := sendWhileHeld(t, pub, api, errs, 10, func(i int) string { return fmt.Sprint("then ", i) })
	assert.Equal(t, 1, api.nextCall(t, "the ten were not sent as one aggregate"), "the ten that came while a send was in flight go as one message")
	api.open()
	wg.Wait()
	for range 11 {
		require.NoError(t, <-errs)
	}

	got := testenv.ReceiveAll(t, qs.Main, 2, qs.MainWait())
	require.Len(t, got, 2, "two messages: the lone first and the aggregate of ten")
	var lone, agg []message.Message
	for _, m := range got {
		if m.Text(events.AttrEventCount) == "" {
			lone = append(lone, m)
		} else {
			agg = append(agg, m)
		}
	}
	require.Len(t, lone, 1, "the lone Send is not aggregated (no event_count)")
	assert.Equal(t, "first", lone[0].Body)
	require.Len(t, agg, 1)
	assert.Equal(t, "10", agg[0].Text(events.AttrEventCount))
	assert.Equal(t, events.TypeNumberSubmitted, agg[0].Text(events.AttrEventType))
	evs := eventsOf(t, agg[0])
	want := make([]string, 10)
	for i := range want {
		want[i] = fmt.Sprint("then ", i)
	}
	assert.ElementsMatch(t, want, evs, "the aggregate carries every event once")
}

// failingSQS answers every call that carries an aggregate with a failure
// (a Failed entry, or an error for the whole call when callErr is set) and
// passes the others on to the real client.
type failingSQS struct {
	heldSQS
	callErr error
}

func (f *failingSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	aggregate := false
	for _, e := range in.Entries {
		if _, ok := e.MessageAttributes[events.AttrEventCount]; ok {
			aggregate = true
		}
	}
	if !aggregate {
		return f.heldSQS.SendMessageBatch(ctx, in, opts...)
	}
	if f.started != nil {
		f.started <- len(in.Entries)
	}
	if f.callErr != nil {
		return nil, f.callErr
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("try again"), SenderFault: false})
	}
	return out, nil
}

func TestAFailedAggregateFailsEverySendItCarries(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		callErr error
	}{
		{"the entry is answered as failed", nil},
		{"the whole call fails", fmt.Errorf("connection reset by peer")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			qs := testenv.NewQueues(t, 5, 30*time.Second)
			api := &failingSQS{heldSQS: heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 10)}, callErr: tt.callErr}
			pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: time.Hour, MaxWait: -1,
				Aggregate: events.Aggregate, MaxAggregate: 5}, testenv.Logger(t))
			require.NoError(t, err)
			defer pub.Close()
			defer api.open()

			first := make(chan error, 1)
			rest := make(chan error, 5)
			sendFirstAlone(t, pub, &api.heldSQS, first)
			for i := range 5 {
				go func() { rest <- pub.Send(context.Background(), jsonBody(fmt.Sprint("doomed ", i))) }()
			}
			for range 5 {
				select {
				case err := <-rest:
					require.Error(t, err, "a Send of a failed aggregate is told so")
					assert.ErrorIs(t, err, number.ErrUnavailable)
				case <-time.After(60 * time.Second):
					t.Fatal("a Send of the failed aggregate was never answered")
				}
			}
			api.open()
			require.NoError(t, <-first)
			got := append(testenv.ReceiveAll(t, qs.Main, 1, qs.MainWait()), testenv.ReceiveFor(t, qs.Main, 2*time.Second)...)
			require.Len(t, got, 1, "only the lone message reached the queue")
			assert.Equal(t, "first", got[0].Body)
		})
	}
}

// recordingSQS is the real client, recording every entry of every call.
type recordingSQS struct {
	heldSQS
	mu    sync.Mutex
	calls [][]types.SendMessageBatchRequestEntry
}

func (r *recordingSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	r.mu.Lock()
	r.calls = append(r.calls, in.Entries)
	r.mu.Unlock()
	return r.heldSQS.SendMessageBatch(ctx, in, opts...)
}

// aggregatedCalls runs n Sends of body(i) behind a held first one, waits
// for held calls to start while the first is held, then lets everything
// through and returns what reached the queue.
func aggregatedCalls(t *testing.T, cfg sqsqueue.PublisherConfig, n, held int, body func(i int) string) (*recordingSQS, []message.Message) {
	t.Helper()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &recordingSQS{heldSQS: heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 2*n)}}
	cfg.QueueURL, cfg.Linger, cfg.MaxWait, cfg.Aggregate = qs.Main.URL, time.Hour, -1, events.Aggregate
	pub, err := sqsqueue.NewPublisher(api, cfg, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	defer api.open()

	errs := make(chan error, n+1)
	wg := sendWhileHeld(t, pub, &api.heldSQS, errs, n, body)
	for range held {
		select {
		case entries := <-api.started:
			require.Equal(t, 1, entries, "an aggregate is one message")
		case <-time.After(60 * time.Second):
			t.Fatal("no full aggregate went while the first call was held: the batch was not bounded")
		}
	}
	api.open()
	wg.Wait()
	for range n + 1 {
		require.NoError(t, <-errs)
	}
	// Until all n+1 events are in: an aggregate carries several, so there
	// are fewer messages than events.
	return api, testenv.ReceiveUntil(t, qs.Main, qs.MainWait(), func(got []message.Message) bool {
		events := 0
		for _, m := range got {
			events += len(eventsOf(t, m))
		}
		return events >= n+1
	})
}

func TestTheAggregateBytesBoundSplitsABatchIntoSeveralMessages(t *testing.T) {
	t.Parallel()
	// Two of these fit in 64 KiB, three do not: of seven, the third and
	// the fifth each send the two before them while the first is held.
	const n = 7
	big := func(i int) string { return fmt.Sprint(i, strings.Repeat("x", 25<<10)) }
	api, got := aggregatedCalls(t, sqsqueue.PublisherConfig{}, n, 2, big)
	var all []string
	for _, m := range got {
		all = append(all, eventsOf(t, m)...)
	}
	assert.Len(t, all, n+1, "every event reached the queue, once")
	api.mu.Lock()
	defer api.mu.Unlock()
	aggregates := 0
	for _, call := range api.calls {
		require.Len(t, call, 1, "with Aggregate set a call carries one message")
		if _, ok := call[0].MessageAttributes[events.AttrEventCount]; ok {
			aggregates++
			assert.LessOrEqual(t, len(aws.ToString(call[0].MessageBody)), sqsqueue.AggregateBytes, "an aggregate stays within AggregateBytes")
		}
	}
	assert.GreaterOrEqual(t, aggregates, 2, "the two that went while the first was held: %d calls", len(api.calls))
}

func TestMaxAggregateBoundsTheEventsPerMessage(t *testing.T) {
	t.Parallel()
	// Three per message: of seven, two full aggregates go while the first
	// is held (a Publisher that ignored the bound would hold them for the
	// linger of an hour).
	const n = 7
	api, got := aggregatedCalls(t, sqsqueue.PublisherConfig{MaxAggregate: 3}, n, 2, func(i int) string { return fmt.Sprint("small ", i) })
	total := 0
	for _, m := range got {
		evs := eventsOf(t, m)
		assert.LessOrEqual(t, len(evs), 3, "at most MaxAggregate events a message")
		total += len(evs)
	}
	assert.Equal(t, n+1, total, "every event reached the queue, once")
	api.mu.Lock()
	defer api.mu.Unlock()
	for _, call := range api.calls {
		assert.Len(t, call, 1, "with Aggregate set a call carries one message")
	}
}

func TestValidateRefusesMaxAggregateOutsideTwoToAThousand(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		max int
		ok  bool
	}{{-1, false}, {1, false}, {2, true}, {100, true}, {1000, true}, {1001, false}} {
		t.Run(fmt.Sprint(tt.max), func(t *testing.T) {
			cfg := sqsqueue.PublisherConfig{QueueURL: "q", Aggregate: events.Aggregate, MaxAggregate: tt.max}.WithDefaults()
			err := cfg.Validate()
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "MaxAggregate")
			_, err = sqsqueue.NewPublisher(nil, sqsqueue.PublisherConfig{QueueURL: "q", Aggregate: events.Aggregate, MaxAggregate: tt.max}, zerolog.Nop())
			assert.Error(t, err, "NewPublisher refuses it too")
		})
	}
	assert.Equal(t, sqsqueue.DefaultMaxAggregate, sqsqueue.PublisherConfig{}.WithDefaults().MaxAggregate, "0 is the default")
}

func TestAnEventTooBigToShareAnAggregateGoesAtOnceWhileAnotherSendIsInFlight(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	api := &heldSQS{SendBatchAPI: qs.Client, gate: make(chan struct{}), started: make(chan int, 10)}
	// A linger no test waits for: an event past AggregateBytes fills its
	// batch by itself (nothing can join it), so it goes at once, though a
	// send is in flight. A batch that lingered past its byte room had a
	// negative room, which no Send could signal and which kept the loop
	// spinning instead of waiting for the linger.
	pub, err := sqsqueue.NewPublisher(api, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL, Linger: time.Hour, MaxWait: -1,
		Aggregate: events.Aggregate}, testenv.Logger(t))
	require.NoError(t, err)
	defer pub.Close()
	defer api.open()

	errs := make(chan error, 2)
	big := strings.Repeat("x", sqsqueue.AggregateBytes+(16<<10))
	wg := sendWhileHeld(t, pub, api, errs, 1, func(int) string { return big })
	assert.Equal(t, 1, api.nextCall(t, "an event past AggregateBytes waited for the linger or for the send in flight"), "the big event goes as one message")
	api.open()
	wg.Wait()
	for range 2 {
		require.NoError(t, <-errs)
	}
	got := testenv.ReceiveAll(t, qs.Main, 2, qs.MainWait())
	require.Len(t, got, 2, "the lone first and the big event")
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, eventsOf(t, m)...)
	}
	assert.ElementsMatch(t, []string{"first", big}, bodies)
}
