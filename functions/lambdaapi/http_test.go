package lambdaapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-lambda-go/lambdaurl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/functions/lambdaapi"
)

// seen is what the echo handler saw.
type seen struct {
	Method, URI, Path, Host, RemoteAddr string
	Query                               map[string][]string
	Header                              http.Header
	Body                                string
	HasDeadline                         bool
	DeadlineIn                          time.Duration
}

// echo answers with what it received, two Set-Cookie headers and a repeated
// header; ?binary=1 answers with bytes that are not UTF-8.
func echo(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		if r.URL.Query().Get("binary") == "1" {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte{0xff, 0x00, 0xfe})
			return
		}
		d, ok := r.Context().Deadline()
		s := seen{Method: r.Method, URI: r.RequestURI, Path: r.URL.Path, Host: r.Host, RemoteAddr: r.RemoteAddr,
			Query: r.URL.Query(), Header: r.Header, Body: string(body), HasDeadline: ok}
		if ok {
			s.DeadlineIn = time.Until(d)
		}
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("X-Multi", "one")
		w.Header().Add("X-Multi", "two")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		require.NoError(t, json.NewEncoder(w).Encode(s))
	})
}

// golden reads an event from functions/testdata.
func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	require.NoError(t, err)
	return b
}

// invoke runs the handler the way the Lambda runtime does: JSON in, JSON out.
func invoke(t *testing.T, ctx context.Context, handler any, payload []byte, out any) {
	t.Helper()
	resp, err := lambda.NewHandler(handler).Invoke(ctx, payload)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(resp, out), "response: %s", resp)
}

func TestHTTPPayloadV2ReachesTheHandlerAsAServerWouldDeliverIt(t *testing.T) {
	t.Parallel()
	event := map[string]any{}
	require.NoError(t, json.Unmarshal(golden(t, "apigw-v2-post.json"), &event))
	event["rawQueryString"] = "a=1&a=2&q=x%20y"
	event["cookies"] = []string{"c1=v1", "c2=v2"}
	payload, err := json.Marshal(event)
	require.NoError(t, err)

	var resp events.APIGatewayV2HTTPResponse
	invoke(t, context.Background(), lambdaapi.HTTP(echo(t)), payload, &resp)

	require.Equal(t, http.StatusTeapot, resp.StatusCode, resp.Body)
	assert.False(t, resp.IsBase64Encoded)
	assert.Equal(t, []string{"a=1", "b=2"}, resp.Cookies, "Set-Cookie goes to cookies in format 2.0")
	assert.Equal(t, "one,two", resp.Headers["X-Multi"])
	assert.NotContains(t, resp.Headers, "Set-Cookie")
	var s seen
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &s))
	assert.Equal(t, "POST", s.Method)
	assert.Equal(t, "/api/values?a=1&a=2&q=x%20y", s.URI)
	assert.Equal(t, "/api/values", s.Path)
	assert.Equal(t, map[string][]string{"a": {"1", "2"}, "q": {"x y"}}, s.Query)
	assert.Equal(t, "abc123def4.execute-api.us-east-1.amazonaws.com", s.Host)
	assert.Equal(t, "203.0.113.7", s.RemoteAddr)
	assert.Equal(t, "application/json", s.Header.Get("Content-Type"))
	assert.Equal(t, "c1=v1; c2=v2", s.Header.Get("Cookie"))
	assert.Empty(t, s.Header.Get("Host"), "Host is r.Host, as on a server")
	assert.Equal(t, `{"value": 42}`, s.Body)
}

func TestHTTPALBWithMultiValueHeadersKeepsEveryValueBothWays(t *testing.T) {
	t.Parallel()
	event := map[string]any{}
	require.NoError(t, json.Unmarshal(golden(t, "alb-post.json"), &event))
	event["multiValueQueryStringParameters"] = map[string][]string{"a": {"1", "2"}, "q": {"x%20y"}}
	payload, err := json.Marshal(event)
	require.NoError(t, err)

	var resp events.ALBTargetGroupResponse
	invoke(t, context.Background(), lambdaapi.HTTP(echo(t)), payload, &resp)

	require.Equal(t, http.StatusTeapot, resp.StatusCode, resp.Body)
	assert.Equal(t, "418 I'm a teapot", resp.StatusDescription)
	assert.Empty(t, resp.Headers, "with multi-value headers on, the ALB reads only multiValueHeaders")
	assert.Equal(t, []string{"a=1", "b=2"}, resp.MultiValueHeaders["Set-Cookie"])
	assert.Equal(t, []string{"one", "two"}, resp.MultiValueHeaders["X-Multi"])
	var s seen
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &s))
	assert.Equal(t, "POST", s.Method)
	assert.Equal(t, "/api/values?a=1&a=2&q=x%20y", s.URI, "ALB query values arrive still percent-encoded")
	assert.Equal(t, map[string][]string{"a": {"1", "2"}, "q": {"x y"}}, s.Query)
	assert.Equal(t, []string{"first", "second"}, s.Header.Values("X-Numbers-Note"))
	assert.Equal(t, "numbers-alb-1234567890.us-east-1.elb.amazonaws.com", s.Host)
	assert.Equal(t, "10.0.1.15", s.RemoteAddr, "the client is the entry the ALB appended, the right-most")
	assert.Equal(t, `{"value": -9007199254740993}`, s.Body, "the base64 body is decoded")
}

func TestHTTPALBWithoutMultiValueHeadersAnswersSingleValueHeaders(t *testing.T) {
	t.Parallel()
	payload, err := json.Marshal(events.ALBTargetGroupRequest{
		HTTPMethod:            "GET",
		Path:                  "/x",
		QueryStringParameters: map[string]string{"limit": "5"},
		Headers:               map[string]string{"host": "alb.example", "x-forwarded-for": "192.0.2.1"},
		RequestContext:        events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: "arn:tg"}},
	})
	require.NoError(t, err)

	var resp events.ALBTargetGroupResponse
	invoke(t, context.Background(), lambdaapi.HTTP(echo(t)), payload, &resp)

	assert.Empty(t, resp.MultiValueHeaders)
	assert.Equal(t, "one,two", resp.Headers["X-Multi"])
	assert.Equal(t, "b=2", resp.Headers["Set-Cookie"], "only one cookie fits a single-value header")
	var s seen
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &s))
	assert.Equal(t, "/x?limit=5", s.URI)
	assert.Equal(t, "alb.example", s.Host)
}

func TestHTTPBinaryResponsesAreBase64Encoded(t *testing.T) {
	t.Parallel()
	for name, file := range map[string]string{"format 2.0": "apigw-v2-get.json", "ALB": "alb-get.json"} {
		t.Run(name, func(t *testing.T) {
			event := map[string]any{}
			require.NoError(t, json.Unmarshal(golden(t, file), &event))
			if file == "alb-get.json" {
				event["multiValueQueryStringParameters"] = map[string][]string{"binary": {"1"}}
			} else {
				event["rawQueryString"] = "binary=1"
			}
			payload, err := json.Marshal(event)
			require.NoError(t, err)
			var resp struct {
				Body            string `json:"body"`
				IsBase64Encoded bool   `json:"isBase64Encoded"`
			}
			invoke(t, context.Background(), lambdaapi.HTTP(echo(t)), payload, &resp)
			require.True(t, resp.IsBase64Encoded)
			b, err := base64.StdEncoding.DecodeString(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, []byte{0xff, 0x00, 0xfe}, b)
		})
	}
}

func TestHTTPUsesTheLambdaRequestIDAndLeavesAMarginBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "8f5e2a8c-1111-4c1e-9c1d-2a3b4c5d6e7f"})
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var resp events.APIGatewayV2HTTPResponse
	invoke(t, ctx, lambdaapi.HTTP(echo(t)), golden(t, "apigw-v2-post.json"), &resp)
	var s seen
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &s))
	assert.Equal(t, "8f5e2a8c-1111-4c1e-9c1d-2a3b4c5d6e7f", s.Header.Get("X-Request-Id"))
	require.True(t, s.HasDeadline)
	assert.Less(t, s.DeadlineIn, 3*time.Second-lambdaapi.DeadlineMargin+100*time.Millisecond)

	// A client's own request id wins.
	invoke(t, ctx, lambdaapi.HTTP(echo(t)), golden(t, "apigw-v2-get.json"), &resp)
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &s))
	assert.Equal(t, "golden-get-1", s.Header.Get("X-Request-Id"))
}

func TestHTTPRefusesEventsOfOtherShapes(t *testing.T) {
	t.Parallel()
	for name, payload := range map[string]string{
		"a WebSocket event":             `{"requestContext":{"routeKey":"$connect","eventType":"CONNECT","stage":"prod"}}`,
		"format 1.0 of a newer version": `{"version":"3.0","httpMethod":"GET","path":"/"}`,
		"an SQS batch":                  `{"Records":[]}`,
		"not an object":                 `[1,2]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := lambdaapi.HTTP(echo(t))(context.Background(), json.RawMessage(payload))
			require.Error(t, err)
			if name != "not an object" {
				assert.ErrorIs(t, err, lambdaapi.ErrUnsupportedEvent)
			}
		})
	}
}

// lambdaurl (aws-lambda-go's own http.Handler adapter) reads format 2.0 but
// answers only in the streaming format of function URLs with InvokeMode
// RESPONSE_STREAM: a JSON prelude, eight NUL bytes, then the raw body. API
// Gateway HTTP API and BUFFERED function URLs expect the JSON of
// APIGatewayV2HTTPResponse, which is why this package has its own buffered
// adapter. This test pins that reason down.
func TestLambdaurlAnswersInTheStreamingFormatOnly(t *testing.T) {
	t.Parallel()
	out, err := lambda.NewHandler(lambdaurl.Wrap(echo(t))).Invoke(context.Background(), golden(t, "apigw-v2-post.json"))
	require.NoError(t, err)
	var resp events.APIGatewayV2HTTPResponse
	assert.Error(t, json.Unmarshal(out, &resp), "not JSON an API Gateway could read")
	prelude, body, ok := bytes.Cut(out, make([]byte, 8))
	require.True(t, ok, "prelude and body are separated by 8 NUL bytes")
	assert.JSONEq(t, `{"statusCode":418,"headers":{"Content-Type":"application/json","X-Multi":"one,two"},"cookies":["a=1","b=2"]}`, string(prelude))
	assert.Contains(t, string(body), `"Method":"POST"`)
}

// The golden events decode into aws-lambda-go's types with no unknown field
// (a misspelt key would be silently dropped otherwise) and survive a
// decode-encode-decode round trip. The comparison is of the encodings: the
// ALB type drops an empty multiValueQueryStringParameters (omitempty), which
// the ALB does send.
func TestGoldenEventsRoundTrip(t *testing.T) {
	t.Parallel()
	for file, typ := range map[string]func() any{
		"apigw-v2-post.json":       func() any { return new(events.APIGatewayV2HTTPRequest) },
		"apigw-v2-get.json":        func() any { return new(events.APIGatewayV2HTTPRequest) },
		"alb-post.json":            func() any { return new(events.ALBTargetGroupRequest) },
		"alb-get.json":             func() any { return new(events.ALBTargetGroupRequest) },
		"apigw-v2-stage-post.json": func() any { return new(events.APIGatewayV2HTTPRequest) },
		"apigw-v2-stage-get.json":  func() any { return new(events.APIGatewayV2HTTPRequest) },
		"apigw-rest-post.json":     func() any { return new(events.APIGatewayProxyRequest) },
		"apigw-rest-get.json":      func() any { return new(events.APIGatewayProxyRequest) },
		"sqs-batch.json":           func() any { return new(events.SQSEvent) },
		"sqs-aggregate.json":       func() any { return new(events.SQSEvent) },
	} {
		t.Run(file, func(t *testing.T) {
			first := typ()
			dec := json.NewDecoder(bytes.NewReader(golden(t, file)))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(first))
			encoded, err := json.Marshal(first)
			require.NoError(t, err)
			second := typ()
			require.NoError(t, json.Unmarshal(encoded, second))
			again, err := json.Marshal(second)
			require.NoError(t, err)
			assert.JSONEq(t, string(encoded), string(again))
		})
	}
}

// An ALB event's client is the X-Forwarded-For entry the trusted hops
// appended, counted from the right across every line the client sent.
func TestHTTPALBClientIsTheEntryTheTrustedHopsAppended(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		lines []string
		hops  int
		want  string
	}{
		{"one line, the ALB's entry last", []string{"192.0.2.1, 198.51.100.7"}, 0, "198.51.100.7"},
		{"two lines, the client's own first", []string{"192.0.2.1", "198.51.100.7"}, 1, "198.51.100.7"},
		{"two hops across two lines", []string{"192.0.2.1, 203.0.113.9", "198.51.100.7"}, 2, "203.0.113.9"},
		{"fewer entries than hops", []string{"198.51.100.7"}, 2, "198.51.100.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := json.Marshal(events.ALBTargetGroupRequest{
				HTTPMethod: "GET", Path: "/api/values",
				MultiValueHeaders: map[string][]string{"x-forwarded-for": tt.lines},
				RequestContext:    events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: "arn:tg"}},
			})
			require.NoError(t, err)
			var resp events.ALBTargetGroupResponse
			invoke(t, context.Background(), lambdaapi.HTTPWith(echo(t), lambdaapi.HTTPConfig{ForwardedForHops: tt.hops}), payload, &resp)
			var s seen
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &s))
			assert.Equal(t, tt.want, s.RemoteAddr)
		})
	}
}
