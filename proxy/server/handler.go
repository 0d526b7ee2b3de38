package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/numbers-app/numbers/proxy/httpapi"
)

// writePath is the write's request target, the one the light conversion
// serves.
const writePath = "/api/values"

// fastHandler serves h, an http.Handler, on fasthttp. A POST whose request
// target is exactly /api/values (every write, nearly every request) goes
// through a light synchronous conversion (serveWrite); everything else
// through fasthttpadaptor, at the cost of a goroutine and a full conversion
// each, after a check that its target is a URI (the adaptor answers 500 to
// one that is not; net/http answered 400). The adaptor's request shares
// its strings with fasthttp's buffers, which the next request on the
// connection overwrites: h gets a copy that owns them (detach), since a
// handler may keep a header's value (the rate limiter keys its table by
// the client's address). Either way h's request context is cut from
// fasthttp's, which Shutdown cancels: net/http lets a request finish, and
// so must this. A panic that escapes h is recovered, as net/http did, so
// that it ends one request and not the process (fasthttp recovers none).
func fastHandler(h http.Handler, log zerolog.Logger) fasthttp.RequestHandler {
	adapted := fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, detach(r))
	}))
	return func(c *fasthttp.RequestCtx) {
		defer recoverPanic(c, log)
		if c.IsPost() && string(c.RequestURI()) == writePath {
			serveWrite(c, h)
			return
		}
		if _, err := url.ParseRequestURI(string(c.RequestURI())); err != nil {
			setJSONError(c, http.StatusBadRequest, "the request target is not a valid URI", httpapi.RequestIDFor(string(c.Request.Header.Peek("X-Request-Id"))))
			return
		}
		adapted(c)
	}
}

// recoverPanic turns a panic that escaped the handler into a 500 and a
// closed connection, as net/http does; http.ErrAbortHandler, net/http's
// quiet way to abort an answer, only closes it.
func recoverPanic(c *fasthttp.RequestCtx, log zerolog.Logger) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler { //nolint:errorlint // net/http compares it so too
		c.SetConnectionClose()
		return
	}
	log.Error().Interface("panic", p).Str("method", string(c.Method())).Str("target", string(c.RequestURI())).
		Msg("handler panicked")
	c.Response.Reset()
	c.SetConnectionClose()
	setJSONError(c, http.StatusInternalServerError, "internal error", "")
}

// detach returns a copy of r, as fasthttpadaptor made it, whose strings
// are its own: the method, host, target, URL and headers.
func detach(r *http.Request) *http.Request {
	d := r.WithContext(context.WithoutCancel(r.Context()))
	d.Method = strings.Clone(r.Method)
	d.Host = strings.Clone(r.Host)
	d.Proto = strings.Clone(r.Proto)
	d.RequestURI = strings.Clone(r.RequestURI)
	if u, err := url.ParseRequestURI(d.RequestURI); err == nil {
		d.URL = u
	}
	d.Header = make(http.Header, len(r.Header))
	for k, vs := range r.Header {
		c := make([]string, len(vs))
		for i, v := range vs {
			c[i] = strings.Clone(v)
		}
		d.Header[strings.Clone(k)] = c
	}
	d.TransferEncoding = append([]string(nil), r.TransferEncoding...)
	for i, v := range d.TransferEncoding {
		d.TransferEncoding[i] = strings.Clone(v)
	}
	return d
}

// serveWrite hands c, a POST to writePath, to h as the *http.Request
// net/http would make of it, without what a handler of the write never
// reads from one (a parsed query, TLS state, trailers), and writes h's
// answer once it returns. The body is fasthttp's, read in full (at most
// MaxRequestBodySize) and valid until serveWrite returns.
func serveWrite(c *fasthttp.RequestCtx, h http.Handler) {
	body := c.PostBody()
	n := c.Request.Header.Len()
	r := &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Path: writePath},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, n),
		Body:          http.NoBody,
		ContentLength: int64(len(body)),
		Host:          string(c.Host()),
		RemoteAddr:    remoteAddr(c),
		RequestURI:    writePath,
	}
	if !c.Request.Header.IsHTTP11() {
		r.Proto, r.ProtoMinor = "HTTP/1.0", 0
	}
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	// One backing array for the values: a header sent once (nearly every
	// one) takes a slice of it rather than an allocation of its own.
	values := make([]string, 0, n)
	for k, v := range c.Request.Header.All() {
		key := headerKey(k)
		switch key {
		case "Host", "Transfer-Encoding": // net/http keeps them out of Header; fasthttp has decoded the body
			continue
		}
		if vs, ok := r.Header[key]; ok {
			r.Header[key] = append(vs, string(v))
			continue
		}
		values = append(values, string(v))
		r.Header[key] = values[len(values)-1 : len(values) : len(values)]
	}
	w := &responseWriter{c: c, header: make(http.Header, 8)}
	h.ServeHTTP(w, r)
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK) // what net/http sends for a handler that wrote nothing
	}
}

// headerKey is k, a canonical header name, as a string: a constant for
// the names a client or an ALB sends on nearly every write (no allocation),
// else a copy.
func headerKey(k []byte) string {
	switch string(k) { // compared without a copy
	case "Host":
		return "Host"
	case "Transfer-Encoding":
		return "Transfer-Encoding"
	case "Content-Type":
		return "Content-Type"
	case "Content-Length":
		return "Content-Length"
	case "User-Agent":
		return "User-Agent"
	case "Accept":
		return "Accept"
	case "Accept-Encoding":
		return "Accept-Encoding"
	case "Connection":
		return "Connection"
	case "Origin":
		return "Origin"
	case "Idempotency-Key":
		return "Idempotency-Key"
	case "X-Request-Id":
		return "X-Request-Id"
	case "X-Forwarded-For":
		return "X-Forwarded-For"
	case "X-Forwarded-Proto":
		return "X-Forwarded-Proto"
	case "X-Forwarded-Port":
		return "X-Forwarded-Port"
	case "X-Amzn-Trace-Id":
		return "X-Amzn-Trace-Id"
	}
	return string(k)
}

// remoteAddr is the client's address as net/http gives it (host:port),
// formatted once per connection when the proxy's listener counted it.
func remoteAddr(c *fasthttp.RequestCtx) string {
	if cc, ok := c.Conn().(*countedConn); ok {
		return cc.remoteAddr()
	}
	return c.RemoteAddr().String()
}

// responseWriter is an http.ResponseWriter that writes into a fasthttp
// response, which fasthttp sends once the handler has returned.
type responseWriter struct {
	c           *fasthttp.RequestCtx
	header      http.Header
	wroteHeader bool
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	rh := &w.c.Response.Header
	for k, vv := range w.header {
		for _, v := range vv {
			rh.Add(k, v)
		}
	}
	w.c.SetStatusCode(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.c.Response.AppendBody(b)
	return len(b), nil
}
