package main

// A SendMessageBatch answer that leaves an entry out, or lists it in Failed,
// is a failure the client is told to retry: 503 + Retry-After through the
// proxy's wiring (ECS, coalescing Publisher) and through the HTTP Lambda's
// (Queue.Send behind lambdaapi.HTTP), never a 202 and never a 500.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/functions/lambdaapi"
	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/sqsqueue/sqsfake"
	"github.com/numbers-app/numbers/shared/testenv"
)

// serverBehind builds the proxy's handler (server.New, as ECS and the HTTP
// Lambda do) with SQS reached through a proxy that tampers with
// SendMessageBatch answers.
func serverBehind(t *testing.T, fault sqsfake.Fault, opts server.Options) http.Handler {
	t.Helper()
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	endpoint, _ := sqsfake.Proxy(t, testenv.SQSEndpoint(t), fault, func(body string) bool { return strings.Contains(body, `"value":666`) })
	var cfg server.Config
	require.NoError(t, config.Parse(&cfg, testenv.Environ(t, qs, map[string]string{"SQS_ENDPOINT": endpoint})))
	opts.MaxWait = 30 * time.Second
	srv, err := server.New(context.Background(), cfg, testenv.Logger(t), opts)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv.API
}

var partialFaults = []struct {
	name  string
	fault sqsfake.Fault
}{
	{"an entry the answer does not report", sqsfake.Unreported},
	{"an entry in Failed by SQS's fault", sqsfake.ServerError},
	{"a throttled entry", sqsfake.Throttled},
}

func TestPartialBatchAnswerGives503WithRetryAfterThroughTheProxy(t *testing.T) {
	t.Parallel()
	for _, tt := range partialFaults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := httptest.NewServer(serverBehind(t, tt.fault, server.Options{}))
			defer h.Close()
			post := func(body string) *http.Response {
				resp, err := http.Post(h.URL+"/api/values", "application/json", strings.NewReader(body))
				require.NoError(t, err)
				resp.Body.Close()
				return resp
			}
			resp := post(`{"value": 666}`)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			assert.Equal(t, http.StatusAccepted, post(`{"value": 7}`).StatusCode, "an entry SQS reported taken is accepted")
		})
	}
}

func TestPartialBatchAnswerGives503WithRetryAfterThroughTheHTTPLambda(t *testing.T) {
	t.Parallel()
	for _, tt := range partialFaults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			invoke := lambdaapi.HTTP(serverBehind(t, tt.fault, server.Options{DirectSend: true}))
			post := func(body string) *events.APIGatewayV2HTTPResponse {
				ev, err := json.Marshal(events.APIGatewayV2HTTPRequest{
					Version: "2.0", RawPath: "/api/values", Body: body,
					Headers: map[string]string{"content-type": "application/json"},
					RequestContext: events.APIGatewayV2HTTPRequestContext{
						Stage: "$default", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/api/values", SourceIP: "203.0.113.7"},
					},
				})
				require.NoError(t, err)
				out, err := invoke(context.Background(), ev)
				require.NoError(t, err)
				resp, ok := out.(*events.APIGatewayV2HTTPResponse)
				require.True(t, ok, "%T", out)
				return resp
			}
			resp := post(`{"value": 666}`)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, resp.Body)
			assert.NotEmpty(t, resp.Headers["Retry-After"])
			assert.Equal(t, http.StatusAccepted, post(`{"value": 7}`).StatusCode, "an entry SQS reported taken is accepted")
		})
	}
}
