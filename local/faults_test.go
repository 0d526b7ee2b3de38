package main

// Fault tests: the promise "every 202 ends as exactly one stored row or as a
// message in the dead-letter queue" checked while parts fail. Each test runs
// the proxy and the worker as processes and stops by itself.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/events/eventstest"
	"github.com/numbers-app/numbers/local/fauxqs"
	"github.com/numbers-app/numbers/local/pgcluster"
	"github.com/numbers-app/numbers/local/stack"
	"github.com/numbers-app/numbers/shared/message"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
)

// load posts numbers at rate/s for d and records what it was told.
type load struct {
	mu       sync.Mutex
	accepted map[string]int64 // id -> value, from 202s
	statuses map[int]int
	failures int // no HTTP answer
}

// runLoad sends exactly rate × d posts, paced at rate/s (a count, not a
// deadline, so assertions on totals are exact).
func runLoad(t *testing.T, url string, rate int, d time.Duration) *load {
	t.Helper()
	l := &load{accepted: map[string]int64{}, statuses: map[int]int{}}
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	n := int(float64(rate) * d.Seconds())
	var wg sync.WaitGroup
	base := time.Now().UnixNano() % 1e12 * 1000
	for i := 0; i < n; i++ {
		if i > 0 {
			<-tick.C
		}
		wg.Add(1)
		go func(v int64) {
			defer wg.Done()
			resp, err := client.Post(url+"/api/values", "application/json", strings.NewReader(fmt.Sprintf(`{"value": %d}`, v)))
			l.mu.Lock()
			defer l.mu.Unlock()
			if err != nil {
				l.failures++
				return
			}
			defer resp.Body.Close()
			l.statuses[resp.StatusCode]++
			if resp.StatusCode == http.StatusAccepted {
				var out map[string]string
				if json.NewDecoder(resp.Body).Decode(&out) == nil {
					l.accepted[out["id"]] = v
				}
			}
		}(base + int64(i))
	}
	wg.Wait()
	return l
}

// storedIDs returns every stored id and value.
func storedIDs(t *testing.T, s *system) map[string]int64 {
	t.Helper()
	rows, err := s.Store.DB().QueryContext(context.Background(), "SELECT id::text, value FROM numbers")
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var v int64
		require.NoError(t, rows.Scan(&id, &v))
		out[id] = v
	}
	return out
}

// assertEvery202StoredOnce waits until every accepted id is stored and
// checks that nothing was stored twice and nothing went to the DLQ.
func assertEvery202StoredOnce(t *testing.T, s *system, l *load, within time.Duration) {
	t.Helper()
	require.NotEmpty(t, l.accepted, "the load got some 202s")
	var stored map[string]int64
	deadline := time.Now().Add(within)
	for {
		stored = storedIDs(t, s)
		missing := 0
		for id := range l.accepted {
			if _, ok := stored[id]; !ok {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted numbers were not stored within %s", missing, len(l.accepted), within)
		}
		time.Sleep(200 * time.Millisecond)
	}
	byValue := map[int64]int{}
	for _, v := range stored {
		byValue[v]++
	}
	for v, n := range byValue {
		assert.Equal(t, 1, n, "value %d stored %d times", v, n)
	}
	dead, err := s.Queues.DLQ.Stats(context.Background())
	require.NoError(t, err)
	assert.Zero(t, dead.Visible+dead.InFlight, "nothing went to the dead-letter queue")
	t.Logf("this load: %d accepted, all stored once, statuses %v, no answer %d; the table holds %d rows in all",
		len(l.accepted), l.statuses, l.failures, len(stored))
}

func TestFaultWorkerKilledMidBatchLosesAndDuplicatesNothing(t *testing.T) {
	s := startSystemWith(t, sysOpts{Visibility: 5 * time.Second})
	done := make(chan *load)
	go func() { done <- runLoad(t, s.URL, 300, 6*time.Second) }()
	time.Sleep(2 * time.Second)
	require.NoError(t, s.Worker.Signal(syscall.SIGKILL), "kill the worker in the middle of the load")
	l := <-done
	assert.Equal(t, len(l.accepted), l.statuses[http.StatusAccepted], "every POST was accepted: writes do not need the worker")
	assertEvery202StoredOnce(t, s, l, 30*time.Second)
	assert.GreaterOrEqual(t, s.Worker.Restarts, 1, "the supervisor restarted the worker")
}

// ownPostgres starts a private cluster the test may stop and restart.
func ownPostgres(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	port, err := stack.FreePort()
	require.NoError(t, err)
	pg, err := pgcluster.Start(context.Background(), pgcluster.Options{DataDir: t.TempDir(), Port: port, Fast: true})
	require.NoError(t, err)
	t.Cleanup(pg.Stop)
	return pg
}

func TestFaultPostgresRestartedUnderLoadLosesNothing(t *testing.T) {
	pg := ownPostgres(t)
	s := startSystemWith(t, sysOpts{DatabaseURL: pg.URL(), Visibility: 5 * time.Second})
	done := make(chan *load)
	go func() { done <- runLoad(t, s.URL, 300, 7*time.Second) }()
	time.Sleep(2 * time.Second)
	require.NoError(t, pg.Restart(context.Background()), "fast restart of Postgres under load")
	l := <-done
	assertEvery202StoredOnce(t, s, l, 60*time.Second)
}

func TestFaultPostgresDownLongerThanTheRedrivePolicyAllowsSendsNothingToTheDLQ(t *testing.T) {
	pg := ownPostgres(t)
	// maxReceiveCount 2 x visibility 3s = 6s: an outage of 12s would push
	// every message into the DLQ if the worker kept receiving.
	s := startSystemWith(t, sysOpts{DatabaseURL: pg.URL(), MaxReceive: 2, Visibility: 3 * time.Second})
	pg.Stop()
	l := runLoad(t, s.URL, 50, 4*time.Second)
	assert.Equal(t, 200, len(l.accepted), "writes are accepted while Postgres is down: they wait in the queue")
	time.Sleep(8 * time.Second)
	require.NoError(t, pg.Restart(context.Background()))
	assertEvery202StoredOnce(t, s, l, 60*time.Second)
}

func TestFaultSQSDownAnswers503AndRecovers(t *testing.T) {
	port, err := stack.FreePort()
	require.NoError(t, err)
	dir := filepath.Join(testenv.Root(t), "local", "fauxqs")
	sqsSrv, err := fauxqs.Start(context.Background(), dir, port, io.Discard)
	require.NoError(t, err)
	defer func() { sqsSrv.Stop() }()
	qs := testenv.NewQueuesAt(t, sqsSrv.Endpoint(), 5, 30*time.Second)
	s := startSystemWith(t, sysOpts{SQSEndpoint: sqsSrv.Endpoint(), Queues: &qs})

	// Stored within the queue's visibility timeout and more: a receive of
	// the worker's whose answer is lost leaves its messages in flight for it.
	stored := qs.Spec.VisibilityTimeout + 30*time.Second
	before := runLoad(t, s.URL, 50, 2*time.Second)
	assertEvery202StoredOnce(t, s, before, stored)

	sqsSrv.Kill()
	during := runLoad(t, s.URL, 20, 3*time.Second)
	assert.Empty(t, during.accepted, "no 202 while the queue is down")
	assert.Equal(t, 60, during.statuses[http.StatusServiceUnavailable], "every write is told 503")
	resp, err := http.Post(s.URL+"/api/values", "application/json", strings.NewReader(`{"value": 1}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Contains(t, string(body), "unavailable")

	// The local SQS keeps queues in memory: bring it back with the same queues.
	sqsSrv, err = fauxqs.Start(context.Background(), dir, port, io.Discard)
	require.NoError(t, err)
	_, _, err = sqsqueue.Ensure(context.Background(), qs.Client, qs.Spec)
	require.NoError(t, err)
	after := runLoad(t, s.URL, 50, 2*time.Second)
	assert.Equal(t, 100, len(after.accepted), "writes are accepted again once the queue is back")
	assertEvery202StoredOnce(t, s, after, stored)
}

func TestFaultPoisonMixedIntoGoodBatchesGoesToTheDLQWithItsReason(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()
	var msgs []message.Message
	for i := 0; i < 30; i++ {
		if i%10 == 3 {
			msgs = append(msgs, message.Message{Body: fmt.Sprintf(`{"type":"number.submitted","version":99,"n":%d}`, i)})
			continue
		}
		msgs = append(msgs, eventstest.Valid(t, int64(i)))
	}
	_, err := s.Queues.Main.SendBatch(ctx, msgs)
	require.NoError(t, err)
	// Past the queue's visibility: a lost receive answer delays by that much.
	testenv.Eventually(t, s.Queues.Spec.VisibilityTimeout+30*time.Second, "27 good rows", func() bool { return len(storedIDs(t, s)) == 27 })
	dead := testenv.ReceiveAll(t, s.Queues.DLQ, 3, s.Queues.DLQWait())
	require.Len(t, dead, 3, "3 poison messages in the DLQ")
	for _, d := range dead {
		assert.Equal(t, events.ReasonUnknownVersion, d.Text(message.AttrDLQReason))
		assert.NotEmpty(t, d.Text(message.AttrDLQFailedAt))
	}
}

func TestIdempotencyKeyHoldsAcrossProxyInstancesAndRestarts(t *testing.T) {
	s := startSystem(t)
	port, err := stack.FreePort()
	require.NoError(t, err)
	second := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := append(append([]string{}, s.Env...), fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port))
	other := &stack.Process{Name: "proxy2", Path: s.Proxy.Path, Env: env, Out: testenv.LogWriter(t), Log: testenv.LogWriter(t)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = other.Run(ctx) }()
	testenv.Eventually(t, 30*time.Second, "the second proxy", func() bool {
		resp, err := http.Get(second + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})

	post := func(url, key, body string) (int, string, http.Header) {
		req, _ := http.NewRequest(http.MethodPost, url+"/api/values", bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out["id"], resp.Header
	}
	distinct := testenv.Distinct(20, func(i int) string {
		url := s.URL
		if i%2 == 1 {
			url = second
		}
		code, id, _ := post(url, "order-42", `{"value": 42}`)
		assert.Equal(t, http.StatusAccepted, code)
		return id
	})
	require.Len(t, distinct, 1, "twenty concurrent retries on two proxies got one id")

	require.NoError(t, s.Proxy.Signal(syscall.SIGKILL))
	testenv.Eventually(t, 30*time.Second, "the restarted proxy", func() bool {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	code, id, hdr := post(s.URL, "order-42", `{"value": 42}`)
	assert.Equal(t, http.StatusAccepted, code)
	assert.True(t, distinct[id], "the key survives a proxy restart")
	assert.Equal(t, "true", hdr.Get("Idempotent-Replayed"))

	code, _, _ = post(second, "order-42", `{"value": 43}`)
	assert.Equal(t, http.StatusUnprocessableEntity, code, "the same key with another value is refused")

	// Past the queue's visibility: a lost receive answer delays by that much.
	testenv.Eventually(t, s.Queues.Spec.VisibilityTimeout+30*time.Second, "the row", func() bool { return len(storedIDs(t, s)) >= 1 })
	time.Sleep(time.Second)
	stored := storedIDs(t, s)
	assert.Len(t, stored, 1, "one row for all those requests")
}

func TestGracefulShutdownIsBoundedAndLosesNothing(t *testing.T) {
	s := startSystemWith(t, sysOpts{Env: []string{"DRAIN_DELAY=1s"}})
	// A proxy and a worker outside the supervisor, to signal and time them.
	port, err := stack.FreePort()
	require.NoError(t, err)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := append(append([]string{}, s.Env...), fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port))
	proxy := exec.Command(s.Proxy.Path)
	proxy.Env = env
	proxy.Stdout, proxy.Stderr = testenv.LogWriter(t), testenv.LogWriter(t)
	require.NoError(t, proxy.Start())
	worker := exec.Command(s.Worker.Path)
	worker.Env = env
	worker.Stdout, worker.Stderr = testenv.LogWriter(t), testenv.LogWriter(t)
	require.NoError(t, worker.Start())
	testenv.Eventually(t, 30*time.Second, "the proxy", func() bool {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})

	done := make(chan *load)
	go func() { done <- runLoad(t, url, 200, 3*time.Second) }()
	time.Sleep(1500 * time.Millisecond)
	start := time.Now()
	require.NoError(t, proxy.Process.Signal(syscall.SIGTERM))
	require.NoError(t, worker.Process.Signal(syscall.SIGTERM))
	time.Sleep(300 * time.Millisecond)
	resp, err := http.Get(url + "/readyz")
	if assert.NoError(t, err, "the proxy still answers while it drains") {
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "readiness fails first")
	}
	waitExit := func(name string, c *exec.Cmd) {
		errc := make(chan error, 1)
		go func() { errc <- c.Wait() }()
		select {
		case err := <-errc:
			assert.NoError(t, err, "%s exits cleanly", name)
			assert.Less(t, time.Since(start), 25*time.Second, "%s stops within ECS's 30s stop timeout", name)
		case <-time.After(30 * time.Second):
			_ = c.Process.Kill()
			t.Errorf("%s did not stop within 30s of SIGTERM", name)
		}
	}
	waitExit("proxy", proxy)
	waitExit("worker", worker)
	t.Logf("both stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	l := <-done
	// The supervised worker of s stores whatever the stopped one released.
	assertEvery202StoredOnce(t, s, l, 40*time.Second)
}

// setReadOnly makes every session of the cluster read-only (or writable
// again) at its next transaction, as a failover does: ALTER SYSTEM and a
// configuration reload. Cluster-wide: only on a private cluster.
func setReadOnly(t *testing.T, adminURL string, on bool) {
	t.Helper()
	db := testenv.OpenDB(t, adminURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stmt := "ALTER SYSTEM RESET default_transaction_read_only"
	if on {
		stmt = "ALTER SYSTEM SET default_transaction_read_only = on"
	}
	_, err := db.ExecContext(ctx, stmt)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "SELECT pg_reload_conf()")
	require.NoError(t, err)
	// pg_reload_conf only signals the postmaster, which then reloads and
	// signals every backend: until then a write can still commit. Once this
	// session sees the new value, every backend has been signalled and
	// applies it before its next command.
	want := map[bool]string{true: "on", false: "off"}[on]
	testenv.Eventually(t, 30*time.Second, "default_transaction_read_only = "+want, func() bool {
		var got string
		return db.QueryRowContext(ctx, "SHOW default_transaction_read_only").Scan(&got) == nil && got == want
	})
}

// The database that answers but refuses writes (an RDS Multi-AZ or Aurora
// failover looks like this for a while): the worker must hold what it has
// and stop receiving, not burn accepted numbers into the dead-letter queue.
func TestFaultPostgresRefusingWritesLongerThanTheRedrivePolicyAllowsSendsNothingToTheDLQ(t *testing.T) {
	pg := ownPostgres(t)
	// maxReceiveCount 2 x visibility 3s = 6s: a read-only spell of well over
	// that would push every message into the DLQ if the worker kept
	// receiving while its inserts fail with SQLSTATE 25006.
	const maxReceive, visibility = 2, 3 * time.Second
	s := startSystemWith(t, sysOpts{DatabaseURL: pg.URL(), MaxReceive: maxReceive, Visibility: visibility})

	// The worker is up and has migrated: one number goes through.
	first := runLoad(t, s.URL, 1, time.Second)
	assertEvery202StoredOnce(t, s, first, 60*time.Second)

	setReadOnly(t, pg.AdminURL(), true)
	readOnlySince := time.Now()
	t.Cleanup(func() { setReadOnly(t, pg.AdminURL(), false) })
	l := runLoad(t, s.URL, 50, 4*time.Second)
	assert.Equal(t, 200, len(l.accepted), "writes are accepted while Postgres refuses them: they wait in the queue")

	// Stay read-only for five times maxReceiveCount x visibility, counted
	// from the last POST.
	time.Sleep(5 * maxReceive * visibility)
	stored := storedIDs(t, s)
	for id := range l.accepted {
		require.NotContains(t, stored, id, "nothing is stored while the database refuses writes (the fault is real)")
	}
	dead, err := s.Queues.DLQ.Stats(context.Background())
	require.NoError(t, err)
	assert.Zero(t, dead.Visible+dead.InFlight, "nothing reached the DLQ during the read-only spell")
	t.Logf("read-only for %s (maxReceiveCount x visibility = %s)", time.Since(readOnlySince).Round(time.Second), maxReceive*visibility)

	setReadOnly(t, pg.AdminURL(), false)
	assertEvery202StoredOnce(t, s, l, 90*time.Second)
}

// A database that hangs (every Postgres process stopped: it accepts TCP
// connections and answers nothing) must not take the write path down: the
// load balancer's health check and the proxy's readiness answer 200, POSTs
// get 202, and every 202 is stored once the database answers again.
func TestFaultPostgresHangingKeepsTheHealthCheckAndWritesUp(t *testing.T) {
	pg := ownPostgres(t)
	s := startSystemWith(t, sysOpts{DatabaseURL: pg.URL(), Visibility: 5 * time.Second})

	require.NoError(t, pg.Pause(), "stop every Postgres process")
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			require.NoError(t, pg.Resume())
		}
	}
	defer resume()

	// An ALB gives its health check 5 s by default; this client allows
	// more so a busy machine does not fail the test: the assertion is that
	// it answers, and with what.
	client := &http.Client{Timeout: 8 * time.Second}
	var slowest time.Duration
	for range 5 {
		start := time.Now()
		resp, err := client.Get(s.URL + "/healthz")
		require.NoError(t, err, "the health check answers while Postgres hangs")
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		slowest = max(slowest, time.Since(start))
	}
	start := time.Now()
	code, ready := testenv.GetReadiness(t, client, s.URL, "readiness answers while Postgres hangs")
	readyTook := time.Since(start)
	assert.Equal(t, http.StatusOK, code, "the proxy can accept writes")
	assert.Equal(t, "unavailable", ready.Checks["postgres"], "and says Postgres is not answering")

	l := runLoad(t, s.URL, 20, 2*time.Second)
	assert.Equal(t, 40, l.statuses[http.StatusAccepted], "every POST is accepted while Postgres hangs: %v", l.statuses)
	t.Logf("Postgres stopped: /healthz slowest %s, /readyz %s, POSTs %v", slowest.Round(time.Millisecond),
		readyTook.Round(time.Millisecond), l.statuses)

	resume()
	assertEvery202StoredOnce(t, s, l, 90*time.Second)
}

// After a fast restart of Postgres, once it answers again, no client sees an
// error: the proxy's pooled connections that the restart broke are found
// before use or retried on fresh ones, sequentially and concurrently, for
// reads and for keyed writes (which claim their key in Postgres).
func TestFaultNoClientErrorOnceARestartedPostgresAnswers(t *testing.T) {
	pg := ownPostgres(t)
	s := startSystemWith(t, sysOpts{DatabaseURL: pg.URL()})
	client := &http.Client{Timeout: 20 * time.Second}
	l := runLoad(t, s.URL, 50, time.Second)
	assertEvery202StoredOnce(t, s, l, s.Queues.Spec.VisibilityTimeout+30*time.Second) // past a lost receive answer
	var anID string
	for id := range l.accepted {
		anID = id
		break
	}

	var seq atomic.Int64 // distinct values: the load's checks count rows per value
	status := func(method, path, key string) int {
		req, err := http.NewRequest(method, s.URL+path, nil)
		require.NoError(t, err)
		if method == http.MethodPost {
			req, err = http.NewRequest(method, s.URL+path, strings.NewReader(fmt.Sprintf(`{"value": %d}`, 7_000_000+seq.Add(1))))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// fillPool makes the proxy hold many connections at once, then idle.
	fillPool := func() {
		var wg sync.WaitGroup
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status(http.MethodGet, "/api/values?limit=500", "")
			}()
		}
		wg.Wait()
	}
	work := func(round, i int) map[string]int {
		return map[string]int{
			"list":      status(http.MethodGet, "/api/values?limit=10", ""),
			"get":       status(http.MethodGet, "/api/values/"+anID, ""),
			"stats":     status(http.MethodGet, "/api/stats", ""),
			"keyed-put": status(http.MethodPost, "/api/values", fmt.Sprintf("restart-%d-%d", round, i)),
		}
	}
	want := map[string]int{"list": 200, "get": 200, "stats": 200, "keyed-put": 202}

	fillPool()
	require.NoError(t, pg.Restart(context.Background()), "fast shutdown, then start")
	bad := 0
	for i := range 20 {
		for op, code := range work(1, i) {
			if code != want[op] {
				bad++
				t.Errorf("sequential %s #%d after the restart: %d", op, i, code)
			}
		}
	}
	assert.Zero(t, bad, "sequential requests after the restart")
	badSequential := bad

	fillPool()
	require.NoError(t, pg.Restart(context.Background()), "fast shutdown, then start")
	var mu sync.Mutex
	bad = 0
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				for op, code := range work(2, g*10+i) {
					if code != want[op] {
						mu.Lock()
						bad++
						mu.Unlock()
						t.Errorf("concurrent %s after the restart: %d", op, code)
					}
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, bad, "concurrent requests after the restart")
	t.Logf("after a restart, %d sequential requests: %d failed; after another, %d concurrent: %d failed",
		20*4, badSequential, 20*3*4, bad)

	after := runLoad(t, s.URL, 50, time.Second)
	assertEvery202StoredOnce(t, s, after, 60*time.Second)
}
