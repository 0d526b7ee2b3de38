package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// writePath is the write's request target, the one the light conversion
// serves.
const writePath = "/api/values"

// fastHandler serves h, an http.Handler, on fasthttp. A POST whose request
// target is exactly /api/values (every write, nearly every request) goes
// through a light synchronous conversion (serveWrite); everything else
// through fasthttpadaptor, which handles every request net/http would
// (escaped paths, queries, HEAD, streaming) at the cost of a goroutine
// and a full conversion each. Either way h's request context is cut from
// fasthttp's, which Shutdown cancels: net/http lets a request finish, and
// so must this.
func fastHandler(h http.Handler) fasthttp.RequestHandler {
	adapted := fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	}))
	return func(c *fasthttp.RequestCtx) {
		if c.IsPost() && string(c.RequestURI()) == writePath {
			serveWrite(c, h)
			return
		}
		adapted(c)
	}
}

// serveWrite hands c, a POST to writePath, to h as the *http.Request
// net/http would make of it, without what a handler of the write never
// reads from one (a parsed query, TLS state, trailers), and writes h's
// answer once it returns. The body is fasthttp's, read in full (at most
// MaxRequestBodySize) and valid until serveWrite returns.
func serveWrite(c *fasthttp.RequestCtx, h http.Handler) {
	body := c.PostBody()
	r := &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Path: writePath},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, 8),
		Body:          http.NoBody,
		ContentLength: int64(len(body)),
		Host:          string(c.Host()),
		RemoteAddr:    c.RemoteAddr().String(),
		RequestURI:    writePath,
	}
	if !c.Request.Header.IsHTTP11() {
		r.Proto, r.ProtoMinor = "HTTP/1.0", 0
	}
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	for k, v := range c.Request.Header.All() {
		switch key := string(k); key {
		case "Host", "Transfer-Encoding": // net/http keeps them out of Header; fasthttp has decoded the body
		default:
			r.Header[key] = append(r.Header[key], string(v))
		}
	}
	w := &responseWriter{c: c, header: make(http.Header, 8)}
	h.ServeHTTP(w, r)
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK) // what net/http sends for a handler that wrote nothing
	}
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
