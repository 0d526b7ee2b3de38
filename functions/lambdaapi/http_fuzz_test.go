package lambdaapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/numbers-app/numbers/shared/number"
)

// Event kinds FuzzHTTPEvent builds.
const (
	kindV2 = iota
	kindREST
	kindV1HTTPAPI
	kindALBMulti
	kindALBSingle
	kinds
)

// fuzzEvent builds an event of kind carrying what a client controls
// (method, path, query, a header, the body), as API Gateway or the ALB would
// deliver it.
func fuzzEvent(kind uint8, stage, method, path, query, xff, contentType, body string, b64 bool) any {
	const domain = "abc123def4.execute-api.us-east-1.amazonaws.com"
	headers := map[string]string{"content-type": contentType, "x-forwarded-for": xff, "host": domain}
	multi := map[string][]string{"content-type": {contentType}, "x-forwarded-for": strings.Split(xff, "\n"), "host": {domain}}
	params := splitQuery(query)
	single := map[string]string{}
	for k, vs := range params {
		single[k] = vs[len(vs)-1]
	}
	switch kind % kinds {
	case kindV2:
		return events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path, RawQueryString: query, Headers: headers,
			Body: body, IsBase64Encoded: b64, RequestContext: events.APIGatewayV2HTTPRequestContext{Stage: stage, DomainName: domain,
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "203.0.113.7"}}}
	case kindREST, kindV1HTTPAPI:
		e := events.APIGatewayProxyRequest{HTTPMethod: method, Path: path, Headers: headers, MultiValueHeaders: multi,
			QueryStringParameters: single, MultiValueQueryStringParameters: params, Body: body, IsBase64Encoded: b64,
			RequestContext: events.APIGatewayProxyRequestContext{Stage: stage, DomainName: domain, Path: "/" + stage + path,
				Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7"}}}
		if kind%kinds == kindREST {
			return e
		}
		e.RequestContext.Path = path
		b, _ := json.Marshal(e)
		m := map[string]any{}
		_ = json.Unmarshal(b, &m)
		m["version"] = "1.0"
		return m
	case kindALBMulti:
		return events.ALBTargetGroupRequest{HTTPMethod: method, Path: path, MultiValueHeaders: multi,
			MultiValueQueryStringParameters: params, Body: body, IsBase64Encoded: b64,
			RequestContext: events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: "arn:tg"}}}
	default:
		return events.ALBTargetGroupRequest{HTTPMethod: method, Path: path, Headers: headers,
			QueryStringParameters: single, Body: body, IsBase64Encoded: b64,
			RequestContext: events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: "arn:tg"}}}
	}
}

// splitQuery splits a query into its raw (still encoded) keys and values,
// as the ALB passes them.
func splitQuery(q string) map[string][]string {
	out := map[string][]string{}
	for _, part := range strings.Split(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out[k] = append(out[k], v)
	}
	return out
}

// FuzzHTTPEvent sends every event kind the HTTP function serves (payload
// 2.0, REST and HTTP API 1.0, ALB with and without multi-value headers),
// carrying any client input, through the adapter to the real handler on
// the real Postgres and local SQS. The function always answers (no
// invocation error, which API Gateway would turn into a 502), never 5xx,
// and every 4xx is a JSON error.
func FuzzHTTPEvent(f *testing.F) {
	id := "0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7f"
	type seed struct {
		kind                                               uint8
		stage, method, path, query, xff, contentType, body string
		b64                                                bool
	}
	for _, s := range []seed{
		{kindV2, "prod", "POST", "/prod/api/values", "", "203.0.113.7", "application/json", `{"value": 42}`, false},
		{kindV2, "$default", "GET", "/api/values/" + id, "", "203.0.113.7", "", "", false},
		{kindV2, "prod", "GET", "/prod/api/values", "limit=1&cursor=abc", "203.0.113.7", "", "", false},
		{kindV2, "prod", "GET", "/prod/api/values/a?b c#d%zz", "x=%zz&#", "", "", "", false},
		{kindREST, "prod", "POST", "/api/values", "", "198.51.100.40", "application/json", "eyJ2YWx1ZSI6IDF9", true},
		{kindREST, "prod", "GET", "/api/values", "limit=2", "198.51.100.40", "", "", false},
		{kindREST, "api", "GET", "/api/values/urn:uuid:" + id, "", "", "", "", false},
		{kindV1HTTPAPI, "prod", "GET", "/prod/api/values/all", "", "203.0.113.7", "", "", false},
		{kindALBMulti, "", "POST", "/api/values", "", "192.0.2.1, 10.0.1.15\n198.51.100.7", "application/json", `{"value":"-9223372036854775808"}`, false},
		{kindALBSingle, "", "GET", "/api/values", "limit=abc", "192.0.2.1", "", "", false},
		{kindALBSingle, "", "G\x00T", "", "", "", "", "not base64!", true},
	} {
		f.Add(s.kind, s.stage, s.method, s.path, s.query, s.xff, s.contentType, s.body, s.b64)
	}
	handle, srv, _ := realHTTP(f, nil)
	_, err := srv.Store.Insert(context.Background(), []number.Submission{{ID: id, Value: 7, AcceptedAt: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}})
	if err != nil {
		f.Fatal(err)
	}
	h := lambda.NewHandler(handle)
	f.Fuzz(func(t *testing.T, kind uint8, stage, method, path, query, xff, contentType, body string, b64 bool) {
		payload, err := json.Marshal(fuzzEvent(kind, stage, method, path, query, xff, contentType, body, b64))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := h.Invoke(ctx, payload)
		if err != nil {
			t.Fatalf("event %s: the function failed instead of answering: %v", payload, err)
		}
		var resp struct {
			StatusCode        int                 `json:"statusCode"`
			Headers           map[string]string   `json:"headers"`
			MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
			Body              string              `json:"body"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("event %s: answer %s: %v", payload, out, err)
		}
		if resp.StatusCode < 200 || resp.StatusCode >= 500 {
			t.Fatalf("event %s: %d %s", payload, resp.StatusCode, resp.Body)
		}
		if resp.StatusCode >= 400 {
			ct := resp.Headers["Content-Type"]
			if v := resp.MultiValueHeaders["Content-Type"]; len(v) > 0 {
				ct = v[0]
			}
			var e struct{ Error string }
			if ct != "application/json" || json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error == "" {
				t.Fatalf("event %s: %d without a JSON error: %q %s", payload, resp.StatusCode, ct, resp.Body)
			}
		}
	})
}
