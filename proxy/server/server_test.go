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
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/shared/testenv/hung"
)

// proxyOn serves the proxy's handler (the ECS and HTTP Lambda wiring) on
// the database at dbURL and fresh queues on the local SQS, through the
// proxy's server, and returns its base URL.
func proxyOn(t *testing.T, dbURL string) (string, testenv.Queues) {
	t.Helper()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	cfg := server.Config{
		Common:    testenv.Common(t, dbURL, qs),
		WriteMode: "async", ForwardedForHops: 1,
	}
	built, err := server.New(context.Background(), cfg, testenv.Logger(t), server.Options{})
	require.NoError(t, err)
	t.Cleanup(built.Close) // after the server's shutdown (cleanups run last first)
	return serve(t, httpServer(built.API, 0)), qs
}

func post(t *testing.T, client *http.Client, u, body, key string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u+"/api/values", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// A database that accepts connections but refuses writes (SQLSTATE 25006)
// is what an RDS Multi-AZ or Aurora failover looks like for a while.
func TestAKeyedPostWhilePostgresIsReadOnlyIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	testenv.StoreAt(t, dbURL) // migrated
	testenv.SetReadOnly(t, dbURL)

	base, _ := proxyOn(t, dbURL)
	client := &http.Client{Timeout: 30 * time.Second}
	resp := post(t, client, base, `{"value": 7}`, "read-only-key")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "a dependency down is 503, not 500")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Contains(t, body["error"], "retry later")

	get, err := client.Get(base + "/api/values")
	require.NoError(t, err)
	get.Body.Close()
	assert.Equal(t, http.StatusOK, get.StatusCode, "reads still work on a read-only database")
	resp = post(t, client, base, `{"value": 8}`, "")
	assert.Equal(t, http.StatusAccepted, resp.StatusCode, "a write without a key needs only the queue")
}

func TestTheHealthCheckAndWritesDoNotWaitForAHangingPostgres(t *testing.T) {
	t.Parallel()
	base, qs := proxyOn(t, hung.PostgresURL(t))
	// The load balancer gives a health check a few seconds (ALB: 5s by
	// default); this client allows more, so a busy machine does not fail
	// the test, and the assertion is on the answer.
	client := &http.Client{Timeout: 8 * time.Second}
	for range 3 {
		resp, err := client.Get(base + "/healthz")
		require.NoError(t, err, "the health check answers while Postgres hangs")
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}

	code, ready := testenv.GetReadiness(t, client, base, "readiness answers while Postgres hangs")
	assert.Equal(t, http.StatusOK, code, "the proxy can accept writes: it is ready")
	assert.Equal(t, "ready", ready.Status)
	assert.Equal(t, map[string]string{"sqs": "ok", "postgres": "unavailable"}, ready.Checks, "Postgres' state is reported")

	ids := map[string]bool{}
	for i := range 5 {
		resp := post(t, client, base, `{"value": `+string(rune('1'+i))+`}`, "")
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "a write needs only the queue")
		var out map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		ids[out["id"]] = true
	}
	// Every 202 is in the queue, once.
	seen := func(got []message.Message) int {
		n := 0
		for _, m := range got {
			for id := range ids {
				if strings.Contains(m.Body, id) {
					n++
				}
			}
		}
		return n
	}
	queued := testenv.ReceiveUntil(t, qs.Main, qs.MainWait(), func(got []message.Message) bool { return seen(got) >= len(ids) })
	assert.Equal(t, len(ids), seen(queued))
}

// A Postgres that accepts connections and never answers: the reads, and a
// write with an Idempotency-Key (whose key is claimed in Postgres), end in
// 503 + Retry-After within HandlerTimeout (8 s), before a client's own
// timeout. The store's own read timeout (pgstore.DefaultTimeout, 10 s) is
// not below it: without the handler's deadline the answer came at 10 s, past
// the client's timeout here (on net/http, whose write timeout of 10 s
// counted from the request, it was an empty reply).
func TestRequestsWaitingOnAHangingPostgresAre503WithRetryAfterNotAnEmptyReply(t *testing.T) {
	t.Parallel()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	cfg := server.Config{
		Common:    testenv.Common(t, hung.PostgresURL(t), qs),
		WriteMode: "async", ForwardedForHops: 1,
	}
	built, err := server.New(context.Background(), cfg, testenv.Logger(t), server.Options{})
	require.NoError(t, err)
	t.Cleanup(built.Close) // after the server's shutdown (cleanups run last first)
	base := serve(t, httpServer(built.API, 0))

	// Between HandlerTimeout and the store's timeout, with 1.5 s to spare.
	client := &http.Client{Timeout: pgstore.DefaultTimeout - 500*time.Millisecond}
	for _, path := range []string{"/api/values", "/api/values/all", "/api/values/019dd1c6-7a10-7c3e-9b1a-5f0e2d4c8a01"} {
		resp, err := client.Get(base + path)
		require.NoError(t, err, "GET %s answers while Postgres hangs", path)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, path)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"), path)
	}
	resp := post(t, client, base, `{"value": 7}`, "key-on-a-hanging-postgres")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "a keyed write")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"), "a keyed write")
}

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
	srv := httpServer(built.API, maxConns)
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
	// Each message counted once, by its SQS message ID: one that comes
	// again (after a lost receive answer) is no duplicate send.
	seen := map[string]int{}
	counted := map[string]bool{}
	testenv.ReceiveUntil(t, qs.Main, qs.MainWait()+20*time.Second, func(got []message.Message) bool {
		for _, m := range got {
			if counted[m.ID] {
				continue
			}
			counted[m.ID] = true
			for id := range accepted {
				if strings.Contains(m.Body, id) {
					seen[id]++
				}
			}
		}
		return len(seen) == len(accepted)
	})
	assert.Len(t, seen, len(accepted), "every accepted post in the queue")
	for id, c := range seen {
		assert.Equal(t, 1, c, "message %s is in the queue once", id)
	}
}
