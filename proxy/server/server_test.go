package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/testenv"
	"github.com/numbers-app/numbers/shared/testenv/hung"
)

// proxyOn builds the proxy's handler (the ECS and HTTP Lambda wiring) on
// the database at dbURL and fresh queues on the local SQS.
func proxyOn(t *testing.T, dbURL string) (*httptest.Server, testenv.Queues) {
	t.Helper()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	cfg := server.Config{
		Common:    testenv.Common(t, dbURL, qs),
		WriteMode: "async", ForwardedForHops: 1,
	}
	built, err := server.New(context.Background(), cfg, testenv.Logger(t), server.Options{})
	require.NoError(t, err)
	srv := httptest.NewServer(built.API)
	t.Cleanup(func() {
		srv.Close()
		built.Close()
	})
	return srv, qs
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

	srv, _ := proxyOn(t, dbURL)
	client := &http.Client{Timeout: 30 * time.Second}
	resp := post(t, client, srv.URL, `{"value": 7}`, "read-only-key")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "a dependency down is 503, not 500")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Contains(t, body["error"], "retry later")

	get, err := client.Get(srv.URL + "/api/values")
	require.NoError(t, err)
	get.Body.Close()
	assert.Equal(t, http.StatusOK, get.StatusCode, "reads still work on a read-only database")
	resp = post(t, client, srv.URL, `{"value": 8}`, "")
	assert.Equal(t, http.StatusAccepted, resp.StatusCode, "a write without a key needs only the queue")
}

func TestTheHealthCheckAndWritesDoNotWaitForAHangingPostgres(t *testing.T) {
	t.Parallel()
	srv, qs := proxyOn(t, hung.PostgresURL(t))
	// The load balancer gives a health check a few seconds (ALB: 5s by
	// default); this client allows more, so a busy machine does not fail
	// the test, and the assertion is on the answer.
	client := &http.Client{Timeout: 8 * time.Second}
	for range 3 {
		resp, err := client.Get(srv.URL + "/healthz")
		require.NoError(t, err, "the health check answers while Postgres hangs")
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}

	code, ready := testenv.GetReadiness(t, client, srv.URL, "readiness answers while Postgres hangs")
	assert.Equal(t, http.StatusOK, code, "the proxy can accept writes: it is ready")
	assert.Equal(t, "ready", ready.Status)
	assert.Equal(t, map[string]string{"sqs": "ok", "postgres": "unavailable"}, ready.Checks, "Postgres' state is reported")

	ids := map[string]bool{}
	for i := range 5 {
		resp := post(t, client, srv.URL, `{"value": `+string(rune('1'+i))+`}`, "")
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "a write needs only the queue")
		var out map[string]string
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		ids[out["id"]] = true
	}
	// Every 202 is in the queue.
	seen := 0
	testenv.Eventually(t, 30*time.Second, "the five messages in the queue", func() bool {
		out, err := qs.Client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(qs.Main.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		require.NoError(t, err)
		for _, m := range out.Messages {
			for id := range ids {
				if strings.Contains(aws.ToString(m.Body), id) {
					seen++
				}
			}
		}
		return seen >= len(ids)
	})
	assert.Equal(t, len(ids), seen)
}
