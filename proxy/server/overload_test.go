package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// gatedSQS is the real SQS client whose sends hang until the gate opens,
// whatever their context says: a queue that has stopped answering.
type gatedSQS struct {
	sqsqueue.API
	gate    chan struct{}
	started atomic.Int64
}

func (g *gatedSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	g.started.Add(1)
	<-g.gate
	return g.API.SendMessageBatch(ctx, in, opts...)
}

type answer struct {
	status     int
	retryAfter string
	id         string
	err        error
}

// A flood of posts while the queue hangs: the posts past the bounds must be
// answered 503 + Retry-After without waiting for the queue, none may end in
// a connection error, every 202 must be in the queue, and the heap stays
// bounded.
func TestAFloodOfPostsIsAnsweredAcceptedOrBusyAndNothingAcceptedIsLost(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	testenv.StoreAt(t, dbURL)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	sqsAPI := &gatedSQS{gate: make(chan struct{})}
	var openGate sync.Once
	release := func() { openGate.Do(func() { close(sqsAPI.gate) }) }
	defer release()
	cfg := server.Config{
		Common:    testenv.Common(t, dbURL, qs),
		WriteMode: "async", ForwardedForHops: 1, SendMaxInFlight: 2, SendMaxPending: 1024, SendMaxWait: 100 * time.Millisecond,
	}
	built, err := server.New(context.Background(), cfg, zerolog.Nop(), server.Options{
		WrapSQS: func(api sqsqueue.API) sqsqueue.API { sqsAPI.API = api; return sqsAPI },
	})
	require.NoError(t, err)
	const maxConns = 32
	srv := server.HTTPServer(built.API, maxConns)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		release()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		built.Close()
	})
	base := "http://" + ln.Addr().String()

	// A connection per request, as many clients at once would open.
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	const n = 400
	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post(base+"/api/values", "application/json", strings.NewReader(`{"value": `+strconv.Itoa(i)+`}`))
			if err != nil {
				answers <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			var body map[string]string
			_ = json.NewDecoder(resp.Body).Decode(&body)
			answers <- answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), id: body["id"]}
		}()
	}

	var peakHeap atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	var got []answer
	check := func(a answer) {
		got = append(got, a)
		if !assert.NoError(t, a.err, "no request ends in a connection error") {
			return
		}
		switch a.status {
		case http.StatusAccepted:
			assert.NotEmpty(t, a.id)
		case http.StatusServiceUnavailable:
			assert.NotEmpty(t, a.retryAfter, "a 503 says when to come back")
		default:
			t.Errorf("status %d: want 202 or 503", a.status)
		}
	}
	// While the queue hangs, at most maxConns requests may wait for it; all
	// the others must be answered without it.
	deadline := time.After(90 * time.Second)
	for len(got) < n-maxConns {
		select {
		case a := <-answers:
			check(a)
		case <-deadline:
			t.Fatalf("only %d of %d posts were answered while the queue hung; at most %d may wait for it", len(got), n, maxConns)
		}
	}
	for _, a := range got {
		assert.Equal(t, http.StatusServiceUnavailable, a.status, "nothing is accepted while the queue hangs")
	}
	require.Positive(t, sqsAPI.started.Load(), "some posts did reach the queue")

	release()
	wg.Wait()
	close(answers)
	for a := range answers {
		check(a)
	}
	close(stopSampling)
	<-sampled
	require.Len(t, got, n)
	assert.Less(t, peakHeap.Load(), uint64(256<<20), "the heap stays bounded under the flood")

	accepted := map[string]bool{}
	for _, a := range got {
		if a.status == http.StatusAccepted {
			accepted[a.id] = true
		}
	}
	require.NotEmpty(t, accepted, "the posts that waited for the queue are accepted once it answers")
	seen := map[string]int{}
	testenv.Eventually(t, 60*time.Second, "every accepted post in the queue", func() bool {
		msgs, err := qs.Main.Receive(context.Background(), 10, time.Second)
		require.NoError(t, err)
		for _, m := range msgs {
			for id := range accepted {
				if strings.Contains(m.Body, id) {
					seen[id]++
				}
			}
		}
		return len(seen) == len(accepted)
	})
	for id, c := range seen {
		assert.Equal(t, 1, c, "message %s is in the queue once", id)
	}
}
