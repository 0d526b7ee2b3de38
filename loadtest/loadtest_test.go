package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
		consume.SQS{Queue: qs.Main}, &persist.Persister{Store: store, DLQ: qs.DLQ, Log: log, Now: time.Now}, store, log)
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
	err := run(context.Background(), []string{"-target", url, "-rate", "200", "-duration", "2s", "-quiet",
		"-report", report, "-html", filepath.Join(dir, "plot.html")}, io.Discard, io.Discard)
	require.NoError(t, err)
	r := readReport(t, report)
	assert.Equal(t, 400, r.Requested)
	assert.Equal(t, 400, r.Accepted)
	assert.Equal(t, 400, r.Stored)
	assert.Zero(t, r.Lost)
	assert.Zero(t, r.Duplicates)
	assert.Equal(t, "api", r.Source)
	assert.Greater(t, r.AcceptLatencyMS.P50, 0.0)
	assert.Greater(t, r.E2ELagMS.Max, 0.0)
	assert.LessOrEqual(t, r.E2ELagMS.P50, r.E2ELagMS.P99)
	html, err := os.ReadFile(filepath.Join(dir, "plot.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "<html")
}

// A proxy that answers 202 but drops every third number, and stores one
// twice: the report must say so.
func TestLoadTestCatchesLostAndDuplicatedNumbers(t *testing.T) {
	_, dbURL := inProcessSystem(t)
	db, err := openDB(dbURL)
	require.NoError(t, err)
	defer db.Close()
	n := 0
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Value int64 }
		_ = json.NewDecoder(r.Body).Decode(&body)
		id := uuid.Must(uuid.NewV7()).String()
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
	err = run(context.Background(), []string{"-target", liar.URL, "-rate", "30", "-duration", "1s", "-quiet", "-workers", "1",
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
