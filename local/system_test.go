package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/local/stack"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/testenv"
)

// system is the proxy and the worker running as separate processes, as on
// ECS, against a fresh database and fresh queues.
type system struct {
	URL    string
	Store  *pgstore.Store
	Queues testenv.Queues
	Proxy  *stack.Process
	Worker *stack.Process
	Env    []string
	stop   func()
}

var buildOnce sync.Once
var binDir string

// TestMain removes the binaries the system tests built: about 80 MB of
// race-enabled proxy and worker a run, which piled up in the temporary
// directory (a hundred runs left 8 GB).
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func buildBinaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "numbers-e2e-bin-")
		require.NoError(t, err)
		binDir = dir
		for _, name := range []string{"proxy", "worker"} {
			cmd := exec.Command("go", "build", "-race", "-o", filepath.Join(dir, name), "./"+name)
			cmd.Dir = testenv.Root(t)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "build %s: %s", name, out)
		}
	})
	require.NotEmpty(t, binDir, "binaries were built")
	return binDir
}

// sysOpts change where and how the system runs; zero values use the shared
// test Postgres and SQS with a 30s visibility and maxReceiveCount 5.
type sysOpts struct {
	DatabaseURL string
	SQSEndpoint string
	Queues      *testenv.Queues
	MaxReceive  int
	Visibility  time.Duration
	Env         []string
}

func startSystem(t *testing.T, extraEnv ...string) *system {
	return startSystemWith(t, sysOpts{Env: extraEnv})
}

func startSystemWith(t *testing.T, o sysOpts) *system {
	t.Helper()
	bin := buildBinaries(t)
	if o.DatabaseURL == "" {
		o.DatabaseURL = testenv.DatabaseURL(t)
	}
	if o.SQSEndpoint == "" {
		o.SQSEndpoint = testenv.SQSEndpoint(t)
	}
	if o.MaxReceive == 0 {
		o.MaxReceive = 5
	}
	if o.Visibility == 0 {
		o.Visibility = 30 * time.Second
	}
	if o.Queues == nil {
		qs := testenv.NewQueues(t, o.MaxReceive, o.Visibility)
		o.Queues = &qs
	}
	dbURL, qs := o.DatabaseURL, *o.Queues
	port, err := stack.FreePort()
	require.NoError(t, err)
	env := append(os.Environ(), stack.Endpoints{DatabaseURL: dbURL, SQSEndpoint: o.SQSEndpoint,
		QueueURL: qs.Main.URL, DLQURL: qs.DLQ.URL, HTTPAddr: "127.0.0.1:" + strconv.Itoa(port)}.Env()...)
	env = append(env,
		"SQS_WAIT_TIME=1s",
		fmt.Sprintf("SQS_VISIBILITY_TIMEOUT=%ds", int(o.Visibility/time.Second)),
		"LOG_FORMAT=json",
	)
	env = append(env, o.Env...)
	out := testenv.LogWriter(t)
	s := &system{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Queues: qs, Env: env}
	s.Proxy = &stack.Process{Name: "proxy", Path: filepath.Join(bin, "proxy"), Env: env, Out: out, Log: out, StopTimeout: 20 * time.Second}
	s.Worker = &stack.Process{Name: "worker", Path: filepath.Join(bin, "worker"), Env: env, Out: out, Log: out, StopTimeout: 20 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range []*stack.Process{s.Proxy, s.Worker} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Run(ctx)
		}()
	}
	s.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(s.stop)
	store, err := pgstore.Open(pgstore.Config{URL: dbURL})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	s.Store = store
	testenv.Eventually(t, 30*time.Second, "the proxy to be ready", func() bool {
		resp, err := http.Get(s.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

func postJSON(t *testing.T, url, body string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Post(url+"/api/values", "application/json", bytes.NewBufferString(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]string
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestEndToEndEveryAcceptedNumberIsStoredOnce(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()

	bodies := []string{`{"value": 9223372036854775807}`, `{"value": -9223372036854775808}`, `{"value": "1234567890123456789"}`}
	for i := len(bodies); i < 200; i++ {
		bodies = append(bodies, fmt.Sprintf(`{"value": %d}`, i*7919-500000))
	}
	ids := make([]string, len(bodies))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, b := range bodies {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code, out := postJSON(t, s.URL, b)
			assert.Equal(t, http.StatusAccepted, code, b)
			assert.Equal(t, "queued", out["status"])
			ids[i] = out["id"]
		}()
	}
	wg.Wait()

	// Past the queue's visibility: a receive of the worker's whose answer
	// is lost leaves its messages in flight for it.
	testenv.Eventually(t, s.Queues.Spec.VisibilityTimeout+30*time.Second, "200 rows", func() bool {
		n, err := s.Store.Count(ctx)
		return err == nil && n >= 200
	})
	n, err := s.Store.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, 200, n, "exactly one row per 202")

	want := map[int]int64{0: math.MaxInt64, 1: math.MinInt64, 2: 1234567890123456789}
	for i, id := range ids {
		resp, err := http.Get(s.URL + "/api/values/" + id)
		require.NoError(t, err)
		var got struct {
			ID        string `json:"id"`
			Value     int64  `json:"value"`
			ValueText string `json:"value_text"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, id)
		if v, ok := want[i]; ok {
			assert.Equal(t, v, got.Value)
			assert.Equal(t, strconv.FormatInt(v, 10), got.ValueText)
		}
	}

	// The legacy endpoint the original client reads.
	resp, err := http.Get(s.URL + "/api/values/all")
	require.NoError(t, err)
	var legacy struct {
		Rows []struct {
			Number json.Number `json:"number"`
		} `json:"rows"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&legacy))
	resp.Body.Close()
	assert.Len(t, legacy.Rows, 200)
}

func TestEndToEndBadInputStoresNothing(t *testing.T) {
	s := startSystem(t)
	for _, b := range []string{``, `null`, `{"value": 1.5}`, `{"value": 1e3}`, `{"value": " 1"}`, `{"value": true}`,
		`{"value": [1]}`, `nonsense`, `{"value": 9223372036854775808}`, `{"value": null}`, `{"value": ""}`} {
		code, out := postJSON(t, s.URL, b)
		assert.Equal(t, http.StatusBadRequest, code, b)
		assert.NotEmpty(t, out["error"], b)
	}
	st, err := s.Queues.Main.Stats(context.Background())
	require.NoError(t, err)
	assert.Zero(t, st.Visible+st.InFlight, "nothing was enqueued")
	time.Sleep(500 * time.Millisecond)
	n, err := s.Store.Count(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing was stored")
}
