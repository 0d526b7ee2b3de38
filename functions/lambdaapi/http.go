// Package lambdaapi is the AWS Lambda adapter: it turns API Gateway HTTP API
// (payload format 2.0, as function URLs send too) and ALB target group events
// into calls of one http.Handler, and SQS batches into calls of the persist core.
package lambdaapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// ErrUnsupportedEvent is returned for an event that is neither payload
// format 2.0 nor an ALB request (for example API Gateway REST, format 1.0).
var ErrUnsupportedEvent = errors.New("unsupported event: want an API Gateway HTTP API or function URL event (payload format 2.0) or an ALB target group event")

// DeadlineMargin is how long before the invocation's deadline the handlers
// give up, so they answer (an error or a partial batch) instead of being
// killed by a timeout, which also discards the execution environment and
// its Postgres connections.
const DeadlineMargin = 500 * time.Millisecond

// HTTP serves h for both HTTP triggers. It tells them apart by shape: format
// 2.0 events carry "version":"2.0", ALB events "requestContext.elb".
// The response is buffered (API Gateway and ALB take no streamed answers).
func HTTP(h http.Handler) func(ctx context.Context, event json.RawMessage) (any, error) {
	return func(ctx context.Context, event json.RawMessage) (any, error) {
		var probe struct {
			Version        string `json:"version"`
			RequestContext struct {
				ELB *json.RawMessage `json:"elb"`
			} `json:"requestContext"`
		}
		if err := json.Unmarshal(event, &probe); err != nil {
			return nil, fmt.Errorf("decode HTTP event: %w", err)
		}
		switch {
		case probe.RequestContext.ELB != nil:
			var req events.ALBTargetGroupRequest
			if err := json.Unmarshal(event, &req); err != nil {
				return nil, fmt.Errorf("decode ALB event: %w", err)
			}
			return ServeALB(ctx, h, req)
		case probe.Version == "2.0":
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(event, &req); err != nil {
				return nil, fmt.Errorf("decode payload 2.0 event: %w", err)
			}
			return ServeV2(ctx, h, req)
		default:
			return nil, ErrUnsupportedEvent
		}
	}
}

// ServeV2 serves one payload format 2.0 request (API Gateway HTTP API,
// function URL in BUFFERED mode).
func ServeV2(ctx context.Context, h http.Handler, e events.APIGatewayV2HTTPRequest) (*events.APIGatewayV2HTTPResponse, error) {
	uri := e.RawPath
	if uri == "" {
		uri = "/"
	}
	if e.RawQueryString != "" {
		uri += "?" + e.RawQueryString
	}
	r, err := newRequest(ctx, e.RequestContext.HTTP.Method, uri, e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	for k, v := range e.Headers {
		// Format 2.0 joins repeated headers with commas, which is how
		// HTTP lets them be combined anyway; cookies come apart.
		r.Header.Set(k, v)
	}
	if len(e.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	finish(r, e.RequestContext.DomainName, e.RequestContext.HTTP.SourceIP)
	rec := serve(ctx, h, r)

	body, b64 := encodeBody(rec.Body.Bytes())
	resp := &events.APIGatewayV2HTTPResponse{StatusCode: rec.Code, Body: body, IsBase64Encoded: b64}
	res := rec.Result()
	resp.Headers = make(map[string]string, len(res.Header))
	for k, vs := range res.Header {
		if k == "Set-Cookie" {
			resp.Cookies = vs
			continue
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	return resp, nil
}

// ServeALB serves one ALB target group request. When the target group has
// multi-value headers enabled the event carries multiValueHeaders and
// multiValueQueryStringParameters, and the ALB reads only multiValueHeaders
// from the response; otherwise both use the single-value maps.
func ServeALB(ctx context.Context, h http.Handler, e events.ALBTargetGroupRequest) (*events.ALBTargetGroupResponse, error) {
	multi := e.MultiValueHeaders != nil || e.MultiValueQueryStringParameters != nil
	uri := e.Path
	if uri == "" {
		uri = "/"
	}
	// The ALB passes query strings as the client sent them (still
	// percent-encoded), so they are joined, not encoded again.
	var query []string
	if multi {
		for _, k := range sortedKeys(e.MultiValueQueryStringParameters) {
			for _, v := range e.MultiValueQueryStringParameters[k] {
				query = append(query, k+"="+v)
			}
		}
	} else {
		for _, k := range sortedKeys(e.QueryStringParameters) {
			query = append(query, k+"="+e.QueryStringParameters[k])
		}
	}
	if len(query) > 0 {
		uri += "?" + strings.Join(query, "&")
	}
	r, err := newRequest(ctx, e.HTTPMethod, uri, e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	if multi {
		for k, vs := range e.MultiValueHeaders {
			for _, v := range vs {
				r.Header.Add(k, v)
			}
		}
	} else {
		for k, v := range e.Headers {
			r.Header.Set(k, v)
		}
	}
	finish(r, "", firstForwardedFor(r.Header.Get("X-Forwarded-For")))
	rec := serve(ctx, h, r)

	body, b64 := encodeBody(rec.Body.Bytes())
	resp := &events.ALBTargetGroupResponse{
		StatusCode:        rec.Code,
		StatusDescription: strconv.Itoa(rec.Code) + " " + http.StatusText(rec.Code),
		Body:              body,
		IsBase64Encoded:   b64,
	}
	res := rec.Result()
	if multi {
		resp.MultiValueHeaders = make(map[string][]string, len(res.Header))
		for k, vs := range res.Header {
			resp.MultiValueHeaders[k] = vs
		}
	} else {
		resp.Headers = make(map[string]string, len(res.Header))
		for k, vs := range res.Header {
			// Without multi-value headers only one Set-Cookie survives.
			if k == "Set-Cookie" {
				resp.Headers[k] = vs[len(vs)-1]
				continue
			}
			resp.Headers[k] = strings.Join(vs, ",")
		}
	}
	return resp, nil
}

func newRequest(ctx context.Context, method, uri, body string, b64 bool) (*http.Request, error) {
	raw := []byte(body)
	if b64 {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, fmt.Errorf("decode base64 request body: %w", err)
		}
	}
	r, err := http.NewRequestWithContext(ctx, method, uri, bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", method, uri, err)
	}
	r.RequestURI = uri
	return r, nil
}

// finish fills what a server would: Host, RemoteAddr, and a request id. The
// Lambda request id becomes X-Request-Id when the client sent none, so the
// handler's logs match the platform's own (START/END/REPORT lines).
func finish(r *http.Request, domain, sourceIP string) {
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = domain
	}
	r.Header.Del("Host")
	r.RemoteAddr = sourceIP
	if r.Header.Get("X-Request-Id") == "" {
		if lc, ok := lambdacontext.FromContext(r.Context()); ok && lc.AwsRequestID != "" {
			r.Header.Set("X-Request-Id", lc.AwsRequestID)
		}
	}
}

// serve runs h with the invocation's deadline shortened by DeadlineMargin.
func serve(ctx context.Context, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	ctx, cancel := withMargin(ctx)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r.WithContext(ctx))
	return rec
}

func withMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) > 2*DeadlineMargin {
		return context.WithDeadline(ctx, d.Add(-DeadlineMargin))
	}
	return context.WithCancel(ctx)
}

// encodeBody returns the body as a string, base64-encoded when it is not
// UTF-8 (the events carry bodies as JSON strings).
func encodeBody(b []byte) (string, bool) {
	if utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

func firstForwardedFor(xff string) string {
	first, _, _ := strings.Cut(xff, ",")
	return strings.TrimSpace(first)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
