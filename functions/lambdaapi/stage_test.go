package lambdaapi_test

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/functions/internal/functest"
	"github.com/numbers-app/numbers/functions/lambdaapi"
	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/testenv"
)

// realHTTP is the HTTP function's handler: the proxy's own wiring on a fresh
// database and fresh queues, behind the adapter, configured by env on top.
func realHTTP(t testing.TB, env map[string]string) (func(context.Context, json.RawMessage) (any, error), *server.Server, testenv.Queues) {
	t.Helper()
	q := testenv.NewQueues(t, 3, 30*time.Second)
	environ := testenv.Environ(t, q, map[string]string{"MIGRATE": "true", "LOG_LEVEL": "warn", "DB_MAX_CONNS": "4"})
	maps.Copy(environ, env)
	var cfg server.Config
	require.NoError(t, config.Parse(&cfg, environ))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := server.New(ctx, cfg, zerolog.Nop(), server.Options{DirectSend: true, MaxWait: time.Minute})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return lambdaapi.HTTPWith(s.API, lambdaapi.HTTPConfig{ForwardedForHops: cfg.ForwardedForHops}), s, q
}

// acceptedID requires a 202 and returns the id its body names.
func acceptedID(t *testing.T, code int, body string) string {
	t.Helper()
	require.Equal(t, http.StatusAccepted, code, body)
	var accepted struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &accepted))
	return accepted.ID
}

// The golden events of every API Gateway flavour the adapter serves, on a
// named stage ("prod") and on $default, reach the real handler's routes.
func TestHTTPServesGoldenEventsOfEveryStageAndPayloadFormat(t *testing.T) {
	t.Parallel()
	handle, s, q := realHTTP(t, nil)
	ctx := context.Background()
	const storedID = "0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7f"
	_, err := s.Store.Insert(ctx, []number.Submission{{ID: storedID, Value: -42, AcceptedAt: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}})
	require.NoError(t, err)

	t.Run("an HTTP API POST on a named stage queues the number", func(t *testing.T) {
		var resp events.APIGatewayV2HTTPResponse
		invoke(t, ctx, handle, golden(t, "apigw-v2-stage-post.json"), &resp)
		id := acceptedID(t, resp.StatusCode, resp.Body)
		assert.Equal(t, "/api/values/"+id, resp.Headers["Location"])
		assert.Equal(t, int64(math.MaxInt64), functest.Queued(t, q.Main, id).Value)
	})
	t.Run("a REST API POST (always on a stage) queues the number", func(t *testing.T) {
		var resp events.APIGatewayProxyResponse
		invoke(t, ctx, handle, golden(t, "apigw-rest-post.json"), &resp)
		id := acceptedID(t, resp.StatusCode, resp.Body)
		assert.Equal(t, []string{"/api/values/" + id}, resp.MultiValueHeaders["Location"])
		assert.Equal(t, int64(math.MinInt64), functest.Queued(t, q.Main, id).Value)
	})
	t.Run("a REST API GET reads a stored number", func(t *testing.T) {
		var resp events.APIGatewayProxyResponse
		invoke(t, ctx, handle, golden(t, "apigw-rest-get.json"), &resp)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		assert.Equal(t, []string{"golden-rest-get-1"}, resp.MultiValueHeaders["X-Request-Id"])
		assert.Equal(t, []string{"application/json"}, resp.MultiValueHeaders["Content-Type"])
		var v struct{ ID, ValueText string }
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &v))
		assert.Equal(t, storedID, v.ID)
	})
	for name, file := range map[string]string{
		"an HTTP API GET on a named stage (format 2.0)": "apigw-v2-stage-get.json",
		"an HTTP API GET on a named stage (format 1.0)": "apigw-v1-http-get.json",
	} {
		t.Run(name+" lists the numbers", func(t *testing.T) {
			var resp struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
			}
			invoke(t, ctx, handle, golden(t, file), &resp)
			require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
			var list struct{ Values []struct{ ID string } }
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &list))
			require.Len(t, list.Values, 1, "limit=1 reached the handler")
			assert.Equal(t, storedID, list.Values[0].ID)
		})
	}
	t.Run("an HTTP API GET on the $default stage reads a stored number", func(t *testing.T) {
		var resp events.APIGatewayV2HTTPResponse
		invoke(t, ctx, handle, golden(t, "apigw-v2-get.json"), &resp)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	})
}

// Which path the handler sees for each place API Gateway may put a stage.
func TestHTTPRemovesTheStageSegmentOnlyWhereAPIGatewayAddsIt(t *testing.T) {
	t.Parallel()
	const api = "abc123def4.execute-api.us-east-1.amazonaws.com"
	v2 := func(stage, domain, rawPath, rawQuery string) []byte {
		b, err := json.Marshal(events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: rawPath, RawQueryString: rawQuery,
			RequestContext: events.APIGatewayV2HTTPRequestContext{Stage: stage, DomainName: domain,
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: rawPath}}})
		require.NoError(t, err)
		return b
	}
	v1 := func(version, stage, domain, path, contextPath string) []byte {
		b, err := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: path,
			RequestContext: events.APIGatewayProxyRequestContext{Stage: stage, DomainName: domain, Path: contextPath}})
		require.NoError(t, err)
		if version != "" {
			m := map[string]any{}
			require.NoError(t, json.Unmarshal(b, &m))
			m["version"] = version
			b, err = json.Marshal(m)
			require.NoError(t, err)
		}
		return b
	}
	tests := []struct {
		name      string
		event     []byte
		path, uri string
		query     map[string][]string
	}{
		{"format 2.0 on a named stage", v2("prod", api, "/prod/api/values", "limit=2"), "/api/values", "/api/values?limit=2", map[string][]string{"limit": {"2"}}},
		{"format 2.0 on the stage root", v2("prod", api, "/prod", ""), "/", "/", map[string][]string{}},
		{"format 2.0 on $default", v2("$default", api, "/api/values", ""), "/api/values", "/api/values", map[string][]string{}},
		{"format 2.0 on a stage named like the first segment", v2("api", api, "/api/api/values", ""), "/api/values", "/api/values", map[string][]string{}},
		{"format 2.0 whose path only starts like the stage", v2("prod", api, "/production/x", ""), "/production/x", "/production/x", map[string][]string{}},
		{"format 2.0 on a custom domain (no stage segment)", v2("api", "numbers.example.com", "/api/values", ""), "/api/values", "/api/values", map[string][]string{}},
		{"format 2.0 with a decoded '?' and space in the path", v2("prod", api, "/prod/api/values/a?b c", "x=1"), "/api/values/a?b c", "/api/values/a%3Fb%20c?x=1", map[string][]string{"x": {"1"}}},
		{"a REST API event (path without the stage)", v1("", "prod", api, "/api/values", "/prod/api/values"), "/api/values", "/api/values", map[string][]string{}},
		{"a REST API event on a stage named like the first segment", v1("", "api", api, "/api/values", "/api/api/values"), "/api/values", "/api/values", map[string][]string{}},
		{"a REST API event without requestContext.path", v1("", "prod", api, "/prod/api/values", ""), "/api/values", "/api/values", map[string][]string{}},
		{"format 1.0 of an HTTP API on a named stage", v1("1.0", "prod", api, "/prod/api/values", "/prod/api/values"), "/api/values", "/api/values", map[string][]string{}},
		{"format 1.0 of an HTTP API on $default", v1("1.0", "$default", api, "/api/values", "/api/values"), "/api/values", "/api/values", map[string][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
			}
			invoke(t, context.Background(), lambdaapi.HTTP(echo(t)), tt.event, &resp)
			require.Equal(t, http.StatusTeapot, resp.StatusCode, resp.Body)
			var s seen
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &s))
			assert.Equal(t, tt.path, s.Path)
			assert.Equal(t, tt.uri, s.URI)
			assert.Equal(t, tt.query, s.Query)
		})
	}
}
