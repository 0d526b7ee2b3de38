package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/events"
	"github.com/numbers-app/numbers/proxy/httpapi"
	"github.com/numbers-app/numbers/shared/sqsqueue"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/worker/consume"
	"github.com/numbers-app/numbers/worker/persist"
)

// inProcessSystem is the proxy handler and the worker loop in this process,
// on the real Postgres and local SQS.
func inProcessSystem(t *testing.T) (url, dbURL string) {
	t.Helper()
	dbURL = testenv.DatabaseURL(t)
	store := testenv.StoreAt(t, dbURL)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	log := zerolog.Nop()
	pub, err := sqsqueue.NewPublisher(qs.Client, sqsqueue.PublisherConfig{QueueURL: qs.Main.URL}, log)
	require.NoError(t, err)
	t.Cleanup(pub.Close)
	api, err := httpapi.New(httpapi.Deps{Enqueuer: events.Enqueuer{Sender: pub}, Reader: store, Log: log})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c, err := consume.New(consume.Config{WaitTime: time.Second},
		qs.Main, &persist.Persister{Store: store, DLQ: qs.DLQ, Log: log, Now: time.Now}, store, log)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv.URL, dbURL
}

func readReport(t *testing.T, path string) Report {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var r Report
	require.NoError(t, json.Unmarshal(b, &r))
	return r
}

func TestLoadTestReportsEveryAcceptedNumberStored(t *testing.T) {
	url, _ := inProcessSystem(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	// -count: exactly 400 posts however busy the machine is (rate ×
	// duration would depend on the clock).
	err := run(context.Background(), []string{"-target", url, "-rate", "200", "-count", "400", "-quiet",
		"-report", report, "-html", filepath.Join(dir, "plot.html")}, io.Discard, io.Discard)
	require.NoError(t, err)
	r := readReport(t, report)
	assert.Equal(t, 400, r.Requested, "exactly -count posts")
	assert.Equal(t, r.Requested, r.Accepted+r.Rejected+r.Errors, "every post is accounted for")
	assert.Positive(t, r.Accepted)
	assert.Equal(t, r.Accepted, r.Stored, "every 202 is stored")
	assert.Zero(t, r.Lost)
	assert.Zero(t, r.Duplicates)
	assert.Zero(t, r.StoredWithout)
	assert.Equal(t, "api", r.Source)
	assert.Greater(t, r.AcceptLatencyMS.P50, 0.0)
	assert.Greater(t, r.E2ELagMS.Max, 0.0)
	assert.LessOrEqual(t, r.E2ELagMS.P50, r.E2ELagMS.P99)
	html, err := os.ReadFile(filepath.Join(dir, "plot.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "<html")
}

// During the verification the API answers 503 (a database restart) and
// 429 (rate limited) a few times: the load test waits as Retry-After says,
// within its drain timeout, and still verifies every number.
func TestLoadTestVerificationWaitsOutUnavailableAnswers(t *testing.T) {
	url, _ := inProcessSystem(t)
	var refused atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && refused.Load() < 4 {
			code := http.StatusServiceUnavailable
			if refused.Add(1)%2 == 0 {
				code = http.StatusTooManyRequests
			}
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, `{"error":"a dependency is unavailable: retry later"}`)
			return
		}
		proxyTo(t, url, w, r)
	}))
	defer flaky.Close()
	report := filepath.Join(t.TempDir(), "report.json")
	err := run(context.Background(), []string{"-target", flaky.URL, "-rate", "100", "-count", "50", "-quiet",
		"-drain-timeout", "60s", "-report", report}, io.Discard, io.Discard)
	require.NoError(t, err, "503 and 429 during verification are waited out")
	assert.Equal(t, int64(4), refused.Load(), "the verification was refused four times")
	r := readReport(t, report)
	assert.Equal(t, 50, r.Requested)
	assert.Equal(t, r.Accepted, r.Stored)
	assert.Zero(t, r.Lost)
}

// proxyTo forwards r to base.
func proxyTo(t *testing.T, base string, w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
	if !assert.NoError(t, err) {
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// A proxy that answers 202 but drops every third number, and stores one
// twice: the report must say so.
func TestLoadTestCatchesLostAndDuplicatedNumbers(t *testing.T) {
	_, dbURL := inProcessSystem(t)
	db, err := openDB(dbURL)
	require.NoError(t, err)
	defer db.Close()
	var mu sync.Mutex // vegeta adds workers when a post is slow: posts may overlap
	n := 0
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the attack's posts count: a parallel test's verifier that
		// retries a closed server of its own may reach this one on a
		// reused port, and must not shift which post is lost.
		if r.Method != http.MethodPost || r.URL.Path != "/api/values" {
			http.NotFound(w, r)
			return
		}
		var body struct{ Value int64 }
		_ = json.NewDecoder(r.Body).Decode(&body)
		id := uuid.Must(uuid.NewV7()).String()
		mu.Lock()
		defer mu.Unlock()
		n++
		if n%3 != 0 {
			_, err := db.Exec(`INSERT INTO numbers (id, value, accepted_at) VALUES ($1, $2, now())`, id, body.Value)
			assert.NoError(t, err)
		}
		if n == 1 {
			_, err := db.Exec(`INSERT INTO numbers (id, value, accepted_at) VALUES ($1, $2, now())`, uuid.NewString(), body.Value)
			assert.NoError(t, err)
		}
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "status": "queued"})
	}))
	defer liar.Close()
	report := filepath.Join(t.TempDir(), "report.json")
	err = run(context.Background(), []string{"-target", liar.URL, "-rate", "30", "-count", "30", "-quiet", "-workers", "1",
		"-database-url", dbURL, "-drain-timeout", "1s", "-report", report}, io.Discard, io.Discard)
	require.NoError(t, err)
	r := readReport(t, report)
	assert.Equal(t, 30, r.Accepted)
	assert.Equal(t, 10, r.Lost)
	assert.Equal(t, 20, r.Stored)
	assert.Equal(t, 1, r.Duplicates)
	assert.Equal(t, "postgres", r.Source)
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, Percentiles{P50: 50, P90: 90, P99: 99, Max: 100}, percentiles(ds))
	assert.Equal(t, Percentiles{}, percentiles(nil))
}
