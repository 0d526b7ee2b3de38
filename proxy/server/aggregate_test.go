package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// firstHeldSQS is the real client whose first send waits for the gate; it
// records the event_count of every message of every call ("" for a
// message that is not an aggregate).
type firstHeldSQS struct {
	sqsqueue.API
	gate chan struct{}

	mu     sync.Mutex
	calls  [][]string
	events int // events sent: an aggregate's event_count, one for any other message
}

func (h *firstHeldSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	counts := make([]string, len(in.Entries))
	n := 0
	for i, e := range in.Entries {
		if a, ok := e.MessageAttributes[events.AttrEventCount]; ok {
			counts[i] = aws.ToString(a.StringValue)
		}
		c, err := strconv.Atoi(counts[i])
		if err != nil {
			c = 1
		}
		n += c
	}
	h.mu.Lock()
	h.calls = append(h.calls, counts)
	h.events += n
	first := len(h.calls) == 1
	h.mu.Unlock()
	if first {
		<-h.gate
	}
	return h.API.SendMessageBatch(ctx, in, opts...)
}

func (h *firstHeldSQS) sent() (calls [][]string, events int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]string(nil), h.calls...), h.events
}

// postsBehindAHeldSend starts the proxy with the environment extra, posts
// one number (its send held) and then more from their own goroutines, lets
// the held send go once the others have all been sent, and returns each
// call's event counts and the proxy's registry.
func postsBehindAHeldSend(t *testing.T, extra map[string]string, more int) ([][]string, *server.Server, testenv.Queues) {
	t.Helper()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	var cfg server.Config
	require.NoError(t, config.Parse(&cfg, testenv.Environ(t, qs, extra)))
	// The posts behind the held one gather for the linger (a second sender is free).
	cfg.WriteMode, cfg.SendMaxInFlight, cfg.SendMaxWait, cfg.SendLinger = "async", 2, -1, time.Second
	api := &firstHeldSQS{gate: make(chan struct{})}
	var once sync.Once
	release := func() { once.Do(func() { close(api.gate) }) }
	defer release()
	built, err := server.New(context.Background(), cfg, testenv.Logger(t), server.Options{
		WrapSQS: func(c sqsqueue.API) sqsqueue.API { api.API = c; return api },
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		release()
		built.Close() // after the server's shutdown (cleanups run last first)
	})
	base := serve(t, httpServer(built.API, 0))

	statuses := make(chan int, more+1)
	postOne := func(i int) {
		resp, err := http.Post(base+"/api/values", "application/json", strings.NewReader(`{"value": `+strconv.Itoa(i)+`}`))
		if err != nil {
			statuses <- 0
			return
		}
		resp.Body.Close()
		statuses <- resp.StatusCode
	}
	go postOne(-1)
	waitFor(t, func() bool { calls, _ := api.sent(); return len(calls) == 1 }, "the first post's send started")
	for i := range more {
		go postOne(i)
	}
	// Every post has reached the queue's client (the first one held): what
	// went together went together.
	waitFor(t, func() bool { _, n := api.sent(); return n == more+1 }, "every post's event was sent")
	release()
	for range more + 1 {
		select {
		case s := <-statuses:
			require.Equal(t, http.StatusAccepted, s)
		case <-time.After(60 * time.Second):
			t.Fatal("a post was not answered")
		}
	}
	calls, _ := api.sent()
	return calls, built, qs
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sendBatchSize is the proxy's sqs_send_batch_size histogram.
func sendBatchSize(t *testing.T, s *server.Server) *dto.Histogram {
	t.Helper()
	mfs, err := s.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "numbers_sqs_send_batch_size" {
			return mf.GetMetric()[0].GetHistogram()
		}
	}
	t.Fatal("no numbers_sqs_send_batch_size histogram")
	return nil
}

func TestPostsThatComeTogetherAreAggregatedUnlessSQSSendMaxAggregateIsOne(t *testing.T) {
	t.Parallel()
	const more = 5
	for _, tt := range []struct {
		name, env string
		most      int // events per message
	}{
		{"unset: on, at most the default", "", sqsqueue.DefaultMaxAggregate},
		{"3: on, at most three", "3", 3},
		{"1: off, a message a post", "1", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			extra := map[string]string{}
			if tt.env != "" {
				extra["SQS_SEND_MAX_AGGREGATE"] = tt.env
			}
			calls, built, qs := postsBehindAHeldSend(t, extra, more)
			require.NotEmpty(t, calls)
			assert.Equal(t, []string{""}, calls[0], "a lone post is not aggregated")
			aggregates, messages := 0, 0
			for _, c := range calls {
				if tt.most > 1 {
					assert.Len(t, c, 1, "with aggregation a call carries one message: %v", calls)
				}
				for _, count := range c {
					messages++
					if count == "" {
						continue
					}
					aggregates++
					n, err := strconv.Atoi(count)
					require.NoError(t, err)
					assert.LessOrEqual(t, n, tt.most, "event_count within SQS_SEND_MAX_AGGREGATE: %v", calls)
				}
			}
			if tt.most > 1 {
				assert.Positive(t, aggregates, "the posts that waited behind the held send went aggregated: %v", calls)
			} else {
				assert.Zero(t, aggregates, "no aggregate when SQS_SEND_MAX_AGGREGATE=1: %v", calls)
				assert.Equal(t, more+1, messages, "a message a post")
			}

			h := sendBatchSize(t, built)
			assert.Equal(t, uint64(len(calls)), h.GetSampleCount(), "one observation a SendMessageBatch call")
			assert.Equal(t, float64(more+1), h.GetSampleSum(), "the histogram counts the events of an aggregate, not its one message")

			got := testenv.ReceiveAll(t, qs.Main, messages, qs.MainWait())
			require.Len(t, got, messages)
			total := 0
			for _, m := range got {
				items, err := events.DecodeMessage(m.Body)
				require.NoError(t, err)
				for _, it := range items {
					require.NoError(t, it.Err)
					total++
				}
			}
			assert.Equal(t, more+1, total, "every accepted post is an event in the queue, once")
		})
	}
}
