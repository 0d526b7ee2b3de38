package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/testenv"
)

// realServer is the proxy's own wiring (proxy/server) on a fresh Postgres
// database and fresh queues of the local SQS server; env adds or overrides
// variables (RATE_LIMIT_PER_CLIENT, …).
func realServer(t testing.TB, env map[string]string) *server.Server {
	t.Helper()
	q := testenv.NewQueues(t, 3, 30*time.Second)
	environ := map[string]string{
		"DATABASE_URL":       testenv.DatabaseURL(t),
		"SQS_ENDPOINT":       testenv.SQSEndpoint(t),
		"SQS_QUEUE_URL":      q.Main.URL,
		"SQS_DLQ_URL":        q.DLQ.URL,
		"AWS_REGION":         "us-east-1",
		"SQS_SEND_LINGER":    "0s",
		"MIGRATE":            "true",
		"LOG_LEVEL":          "warn",
		"DB_MAX_CONNS":       "4",
		"IDEMPOTENCY_WINDOW": "24h",
	}
	for k, v := range env {
		environ[k] = v
	}
	var cfg server.Config
	if err := config.Parse(&cfg, environ); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := server.New(ctx, cfg, zerolog.Nop(), server.Options{MaxWait: time.Minute})
	if err != nil {
		t.Fatalf("build the proxy: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// errorBody is the JSON error every 4xx and 5xx carries.
type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

// requireJSONError checks rec is status with a JSON error body.
func requireJSONError(t testing.TB, rec *httptest.ResponseRecorder, status int, what string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("%s: body is not a JSON error (%v): %s", what, err, rec.Body)
	}
}

func get(h http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}
