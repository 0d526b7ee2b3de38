// Package lambdaapi is the AWS Lambda adapter: it turns API Gateway HTTP API
// (payload format 2.0, as function URLs send too, or 1.0), API Gateway REST
// API and ALB target group events into calls of one http.Handler, and SQS
// batches into calls of the persist core.
package lambdaapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/numbers-app/numbers/shared/forwardedfor"
)

// ErrUnsupportedEvent is returned for an event that is none of the HTTP
// events HTTP serves (for example an SQS batch, or a WebSocket event).
var ErrUnsupportedEvent = errors.New("unsupported event: want an API Gateway HTTP API or function URL event (payload format 2.0), " +
	"an API Gateway REST API or HTTP API payload format 1.0 event, or an ALB target group event")

// DeadlineMargin is how long before the invocation's deadline the handlers
// give up, so they answer (an error or a partial batch) instead of being
// killed by a timeout, which also discards the execution environment and
// its Postgres connections.
const DeadlineMargin = 500 * time.Millisecond

// DefaultForwardedForHops is HTTPConfig.ForwardedForHops when unset: the
// ALB alone, which appends the address it saw as the right-most entry.
const DefaultForwardedForHops = 1

// HTTPConfig configures HTTPWith.
type HTTPConfig struct {
	// ForwardedForHops is how many proxies in front of the function append
	// the address they saw to X-Forwarded-For, the ALB being the last: an
	// ALB event's client (the request's RemoteAddr) is the entry this many
	// from the right of all X-Forwarded-For lines joined. Defaults to
	// DefaultForwardedForHops.
	ForwardedForHops int
}

// HTTP is HTTPWith with the default HTTPConfig.
func HTTP(h http.Handler) func(ctx context.Context, event json.RawMessage) (any, error) {
	return HTTPWith(h, HTTPConfig{})
}

// HTTPWith serves h for every HTTP trigger. It tells them apart by shape:
// ALB events carry "requestContext.elb", format 2.0 events "version":"2.0",
// API Gateway REST events (and HTTP API events in format 1.0,
// "version":"1.0") an "httpMethod". The response is buffered (API Gateway
// and ALB take no streamed answers). Requests the adapter cannot turn into
// an http.Request (a malformed method or base64 body) are answered 400 with
// a JSON error, like every bad request.
func HTTPWith(h http.Handler, cfg HTTPConfig) func(ctx context.Context, event json.RawMessage) (any, error) {
	if cfg.ForwardedForHops < 1 {
		cfg.ForwardedForHops = DefaultForwardedForHops
	}
	return func(ctx context.Context, event json.RawMessage) (any, error) {
		var probe struct {
			Version        string  `json:"version"`
			HTTPMethod     *string `json:"httpMethod"`
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
			return serveALB(ctx, h, req, cfg.ForwardedForHops)
		case probe.Version == "2.0":
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(event, &req); err != nil {
				return nil, fmt.Errorf("decode payload 2.0 event: %w", err)
			}
			return ServeV2(ctx, h, req)
		case probe.HTTPMethod != nil && (probe.Version == "" || probe.Version == "1.0"):
			var req events.APIGatewayProxyRequest
			if err := json.Unmarshal(event, &req); err != nil {
				return nil, fmt.Errorf("decode payload 1.0 event: %w", err)
			}
			return ServeV1(ctx, h, req)
		default:
			return nil, ErrUnsupportedEvent
		}
	}
}

// ServeV2 serves one payload format 2.0 request (API Gateway HTTP API,
// function URL in BUFFERED mode).
func ServeV2(ctx context.Context, h http.Handler, e events.APIGatewayV2HTTPRequest) (*events.APIGatewayV2HTTPResponse, error) {
	path := e.RawPath
	if path == "" {
		path = e.RequestContext.HTTP.Path
	}
	// A named stage's segment leads rawPath on the API's own endpoint.
	path = stripStage(path, e.RequestContext.Stage, e.RequestContext.DomainName)
	header := make(http.Header, len(e.Headers)+1)
	for k, v := range e.Headers {
		// Format 2.0 joins repeated headers with commas, which is how
		// HTTP lets them be combined anyway; cookies come apart.
		header.Set(k, v)
	}
	if len(e.Cookies) > 0 {
		header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	rec := serve(ctx, h, inbound{
		method: e.RequestContext.HTTP.Method, path: path, query: escapeQuery(e.RawQueryString),
		body: e.Body, b64: e.IsBase64Encoded, header: header,
		domain: e.RequestContext.DomainName, sourceIP: e.RequestContext.HTTP.SourceIP,
	})

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

// ServeV1 serves one payload format 1.0 request: an API Gateway REST API
// (always on a stage; its path leaves the stage out, requestContext.path
// keeps it) or an HTTP API integration in format 1.0 (whose path keeps a
// named stage's segment, as rawPath does in 2.0). Query parameters arrive
// decoded and are encoded again; the answer uses multiValueHeaders, which
// both read.
func ServeV1(ctx context.Context, h http.Handler, e events.APIGatewayProxyRequest) (*events.APIGatewayProxyResponse, error) {
	rc := e.RequestContext
	path := e.Path
	if path == "" {
		path = rc.Path
	}
	if rc.Path == "" || rc.Path != "/"+rc.Stage+path {
		path = stripStage(path, rc.Stage, rc.DomainName)
	}
	query := url.Values{}
	if e.MultiValueQueryStringParameters != nil {
		for k, vs := range e.MultiValueQueryStringParameters {
			query[k] = append(query[k], vs...)
		}
	} else {
		for k, v := range e.QueryStringParameters {
			query.Set(k, v)
		}
	}
	header := eventHeader(e.MultiValueHeaders != nil, e.MultiValueHeaders, e.Headers)
	rec := serve(ctx, h, inbound{
		method: e.HTTPMethod, path: path, query: query.Encode(), body: e.Body, b64: e.IsBase64Encoded,
		header: header, domain: rc.DomainName, sourceIP: rc.Identity.SourceIP,
	})

	body, b64 := encodeBody(rec.Body.Bytes())
	res := rec.Result()
	resp := &events.APIGatewayProxyResponse{StatusCode: rec.Code, Body: body, IsBase64Encoded: b64,
		MultiValueHeaders: make(map[string][]string, len(res.Header))}
	for k, vs := range res.Header {
		resp.MultiValueHeaders[k] = vs
	}
	return resp, nil
}

// ServeALB serves one ALB target group request, with its client the
// address the ALB appended to X-Forwarded-For (DefaultForwardedForHops).
func ServeALB(ctx context.Context, h http.Handler, e events.ALBTargetGroupRequest) (*events.ALBTargetGroupResponse, error) {
	return serveALB(ctx, h, e, DefaultForwardedForHops)
}

// serveALB serves one ALB target group request. When the target group has
// multi-value headers enabled the event carries multiValueHeaders and
// multiValueQueryStringParameters, and the ALB reads only multiValueHeaders
// from the response; otherwise both use the single-value maps.
func serveALB(ctx context.Context, h http.Handler, e events.ALBTargetGroupRequest, hops int) (*events.ALBTargetGroupResponse, error) {
	multi := e.MultiValueHeaders != nil || e.MultiValueQueryStringParameters != nil
	// The ALB passes query strings as the client sent them (still
	// percent-encoded), so they are joined, not encoded again.
	var query []string
	if multi {
		for _, k := range slices.Sorted(maps.Keys(e.MultiValueQueryStringParameters)) {
			for _, v := range e.MultiValueQueryStringParameters[k] {
				query = append(query, k+"="+v)
			}
		}
	} else {
		for _, k := range slices.Sorted(maps.Keys(e.QueryStringParameters)) {
			query = append(query, k+"="+e.QueryStringParameters[k])
		}
	}
	header := eventHeader(multi, e.MultiValueHeaders, e.Headers)
	rec := serve(ctx, h, inbound{
		method: e.HTTPMethod, path: e.Path, query: escapeQuery(strings.Join(query, "&")), body: e.Body, b64: e.IsBase64Encoded,
		header: header, sourceIP: forwardedfor.Client(header.Values("X-Forwarded-For"), hops),
	})

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

// inbound is what every event kind carries, in one shape: the path without
// any stage, the query string encoded, the headers as a server reads them.
type inbound struct {
	method, path, query, body string
	b64                       bool
	header                    http.Header
	domain, sourceIP          string
}

// stripStage removes the segment of a named stage that API Gateway puts in
// front of the path on the API's own endpoint
// ({api-id}.execute-api.{region}.amazonaws.com/{stage}/…). The $default
// stage is served at the root, and a custom domain name maps a stage
// without that segment, so their paths are left as they are.
func stripStage(path, stage, domain string) string {
	if stage == "" || stage == "$default" || (domain != "" && !strings.Contains(domain, ".execute-api.")) {
		return path
	}
	prefix := "/" + stage
	switch {
	case path == prefix:
		return "/"
	case strings.HasPrefix(path, prefix+"/"):
		return path[len(prefix):]
	}
	return path
}

// newRequest builds the request a server would have read. The path and
// query are made valid whatever the event carries: HTTP APIs deliver the
// path decoded, REST APIs, function URLs and ALBs still percent-encoded.
func newRequest(ctx context.Context, in inbound) (*http.Request, error) {
	raw := []byte(in.body)
	if in.b64 {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(in.body); err != nil {
			return nil, errors.New("the request body is not valid base64")
		}
	}
	uri := escapePath(in.path)
	if uri == "" || uri[0] != '/' {
		uri = "/" + uri
	}
	if in.query != "" {
		uri += "?" + in.query
	}
	r, err := http.NewRequestWithContext(ctx, in.method, uri, bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("the request (%.32q %.64q) is not valid HTTP", in.method, uri)
	}
	r.RequestURI = uri
	r.Header = in.header
	finish(r, in.domain, in.sourceIP)
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

// serve runs h with the invocation's deadline shortened by DeadlineMargin,
// or answers 400 itself when in is no valid request.
func serve(ctx context.Context, h http.Handler, in inbound) *httptest.ResponseRecorder {
	ctx, cancel := withMargin(ctx)
	defer cancel()
	rec := httptest.NewRecorder()
	r, err := newRequest(ctx, in)
	if err != nil {
		refuse(ctx, rec, err)
		return rec
	}
	h.ServeHTTP(rec, r)
	return rec
}

// refuse answers 400 with a JSON error, as the handler answers bad requests.
func refuse(ctx context.Context, w http.ResponseWriter, err error) {
	id := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		id = lc.AwsRequestID
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if id != "" {
		w.Header().Set("X-Request-Id", id)
	}
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error(), "request_id": id})
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

// eventHeader is an event's headers as http.Header: its multi-value
// headers when multi (every value, in order), else its single-value ones.
func eventHeader(multi bool, values map[string][]string, single map[string]string) http.Header {
	header := make(http.Header, len(single)+len(values))
	if multi {
		for k, vs := range values {
			for _, v := range vs {
				header.Add(k, v)
			}
		}
		return header
	}
	for k, v := range single {
		header.Set(k, v)
	}
	return header
}

// escapePath percent-encodes what cannot stand in an encoded path (a decoded
// '?', '#', '%' or space, control and non-ASCII bytes), leaving valid escapes
// and every other character as they are: an encoded path is unchanged, a
// decoded one becomes its encoding.
func escapePath(p string) string { return escapeExcept(p, "/:@!$&'()*+,;=") }

// escapeQuery is escapePath for a query string, where '?' and '/' may stand.
func escapeQuery(q string) string { return escapeExcept(q, "/?:@!$&'()*+,;=") }

func escapeExcept(s, allowed string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~", c) >= 0,
			strings.IndexByte(allowed, c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
