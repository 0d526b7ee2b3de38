package server

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// DefaultMaxConns is the default bound on open connections (HTTPServer).
const DefaultMaxConns = 1024

// HTTP server limits. A write is a few hundred bytes, so every phase of a
// request is short: a client that takes longer is slow or hostile, and
// holding its connection costs a goroutine and buffers. IdleTimeout stays
// above the load balancer's (30s in infra/modules/alb) so it is the ALB that
// closes idle connections, never the proxy under its feet (a 502).
const (
	ReadHeaderTimeout = 2 * time.Second
	ReadTimeout       = 5 * time.Second
	WriteTimeout      = 10 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 8 << 10
	// HandlerTimeout bounds the work of a request (its context's deadline,
	// httpapi.Deps.Timeout), below WriteTimeout so that a dependency that
	// hangs (a Postgres that accepts connections and never answers) ends in
	// the handler's 503 + Retry-After: an answer written after WriteTimeout
	// is lost, and the client sees an empty reply. A write without an
	// Idempotency-Key has only the Publisher's bound (WriteSendTimeout).
	HandlerTimeout = WriteTimeout - 2*time.Second
	// WriteSendTimeout is the Publisher's SendTimeout in the proxy. A write
	// without an Idempotency-Key has no deadline of its own: it is answered
	// within its body's read (under ReadTimeout of the request's start) and
	// SendTimeout of its Send, which must leave the answer the same 2s
	// before WriteTimeout that HandlerTimeout does. With the Publisher's
	// default (5s) a body that trickled for 5s and an SQS that hangs met the
	// write timeout: an empty reply.
	WriteSendTimeout = WriteTimeout - ReadTimeout - 2*time.Second
)

// HTTP is the proxy's HTTP server: an http.Server with the limits above and
// a bound on open connections, served through a listener that hands each
// connection to net/http once its first request begins to arrive
// (listener.go). Serve it with Serve or ListenAndServe, which wrap the
// listener; Shutdown and Close are http.Server's. TLS is the load
// balancer's: the inherited ServeTLS and ListenAndServeTLS keep the bound
// but not the wait.
type HTTP struct {
	*http.Server
	limit *connLimit
}

// HTTPServer returns the proxy's HTTP server for h, with the limits above and a
// bound on open connections: a connection whose first request comes while
// maxConns (DefaultMaxConns when 0) are open is still served, but that
// request is answered at once with 503 + Retry-After and the connection is
// closed; the others are served as usual. A client is told to come back
// instead of waiting for a connect timeout or a reset, which would leave it
// unsure whether its number was stored. GET /healthz is always served, so a
// busy proxy is not taken for a dead one. A connection waits for its first
// request up to IdleTimeout, as between requests, and counts as open from
// then; the header and read timeouts count from the request's first byte.
func HTTPServer(h http.Handler, maxConns int) *HTTP {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	cl := &connLimit{max: int64(maxConns), next: h}
	return &HTTP{limit: cl, Server: &http.Server{
		Handler:           cl,
		ConnContext:       cl.open,
		ConnState:         cl.track,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}}
}

// Serve serves connections accepted on ln until Shutdown or Close, and
// returns http.Server.Serve's error (http.ErrServerClosed after those).
// It shadows http.Server.Serve, which would start a first request's
// header timeout at the connect. As many connections may wait for a first
// request as may be open.
func (s *HTTP) Serve(ln net.Listener) error {
	// The wait for a request is idle time: net/http bounds it by
	// IdleTimeout, or ReadTimeout when that is 0.
	return s.Server.Serve(listenFirstRequest(ln, cmp.Or(s.IdleTimeout, s.ReadTimeout), int(s.limit.max)))
}

// ListenAndServe listens on the TCP address s.Addr (":http" when empty) and
// serves it with Serve. It shadows http.Server.ListenAndServe, which serves
// the listener unwrapped, so that a connection opened ahead of its request
// would be closed at ReadHeaderTimeout. It returns net.Listen's error, or
// Serve's. Unlike the inherited one it listens even after Shutdown or
// Close: then Serve closes the listener and returns http.ErrServerClosed,
// unless the address is taken, when net.Listen's error comes first.
func (s *HTTP) ListenAndServe() error {
	ln, err := net.Listen("tcp", cmp.Or(s.Addr, ":http")) //nolint:noctx // a listener lives until Shutdown or Close, not for a context
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// connLimit counts open connections, from the start of their first request
// to their close, and sheds the requests of those past its bound.
type connLimit struct {
	max   int64
	count atomic.Int64
	next  http.Handler
}

type overBoundKey struct{}

// open runs as net/http starts serving a connection (before StateNew):
// once its first request began to arrive, or at once when the listener had
// maxConns waiting. It counts it and marks it when it is past the bound.
func (c *connLimit) open(ctx context.Context, _ net.Conn) context.Context {
	if c.count.Add(1) > c.max {
		return context.WithValue(ctx, overBoundKey{}, true)
	}
	return ctx
}

func (c *connLimit) track(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateClosed, http.StateHijacked:
		c.count.Add(-1)
	}
}

func (c *connLimit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if over, _ := r.Context().Value(overBoundKey{}).(bool); over && r.URL.Path != "/healthz" {
		h := w.Header()
		h.Set("Connection", "close")
		h.Set("Retry-After", "1")
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"the service is busy: retry shortly"}` + "\n"))
		return
	}
	c.next.ServeHTTP(w, r)
}
