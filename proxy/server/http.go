package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/numbers-app/numbers/proxy/httpapi"
)

// DefaultMaxConns is the default bound on open connections (HTTPServer).
const DefaultMaxConns = 1024

// HTTP server limits. A write is a few hundred bytes, so every phase of a
// request is short: a client that takes longer is slow or hostile, and
// holding its connection costs a goroutine and buffers. IdleTimeout stays
// above the load balancer's (30s in infra/modules/alb) so it is the ALB that
// closes idle connections, never the proxy under its feet (a 502).
const (
	// ReadTimeout bounds reading a request, headers and body, from its
	// first byte.
	ReadTimeout = 5 * time.Second
	// WriteTimeout bounds writing an answer once the handler has returned.
	WriteTimeout = 10 * time.Second
	// IdleTimeout bounds the wait for a request: between requests, and
	// for a connection's first one (listener.go).
	IdleTimeout = 60 * time.Second
	// MaxHeaderBytes bounds a request's line and headers (431 beyond it).
	MaxHeaderBytes = 8 << 10
	// HandlerTimeout bounds the work of a request (its context's deadline,
	// httpapi.Deps.Timeout), so that a dependency that hangs (a Postgres
	// that accepts connections and never answers) ends in the handler's
	// 503 + Retry-After within seconds, before a client's own timeout (10 s
	// is common) leaves it unsure. It is also the HTTP Lambda function's.
	// A write without an Idempotency-Key has only the Publisher's bound
	// (WriteSendTimeout).
	HandlerTimeout = 8 * time.Second
	// WriteSendTimeout is the Publisher's SendTimeout in the proxy. A write
	// without an Idempotency-Key has no deadline of its own: it is answered
	// within its body's read (ReadTimeout) and SendTimeout of its Send,
	// which together stay within HandlerTimeout, as any other request's
	// work does.
	WriteSendTimeout = HandlerTimeout - ReadTimeout
)

// HTTP is the proxy's HTTP server: a fasthttp server with the limits above
// and a bound on open connections, served through a listener that hands
// each connection over once its first request begins to arrive
// (listener.go).
//
// Why fasthttp: net/http's serving was two thirds of the proxy's CPU per
// write, and a bare fasthttp server answers a write in a little over half
// a bare net/http server's CPU (docs/benchmarks.md, "The proxy's server").
// The handler stays an http.Handler, the one the HTTP Lambda function
// serves: the write is handed to it through a light synchronous
// conversion (handler.go), everything else through fasthttpadaptor.
type HTTP struct {
	fast *fasthttp.Server
	// open counts connections from their first request to their close;
	// max is its bound.
	open atomic.Int64
	max  int64
	// idle is IdleTimeout (tests shorten it).
	idle time.Duration
	log  zerolog.Logger
	// ownAnswer, when set, is told the status of each answer the server
	// gives without the handler (CountOwnAnswers).
	ownAnswer func(code int)
	// shut is set by Shutdown; lns are the listeners Serve was handed,
	// which Shutdown closes once more (see Shutdown).
	mu   sync.Mutex
	shut bool
	lns  []net.Listener
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
// then; the read timeout counts from the request's first byte.
//
// h's request context is not cancelled when the client goes away or when
// Shutdown begins (Shutdown waits for h to return): a request that waits
// on a dependency is bounded by its own deadline (httpapi.Deps.Timeout).
// Requests the server cannot read are answered with a JSON error
// (errorAnswer) and their connection closed, without the handler's CORS
// headers, metrics or access log; log gets the server's own errors and
// the handler's panics (a 500).
func HTTPServer(h http.Handler, maxConns int, log zerolog.Logger) *HTTP {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	s := &HTTP{max: int64(maxConns), idle: IdleTimeout, log: log}
	next := fastHandler(h, log)
	s.fast = &fasthttp.Server{
		Handler:            func(c *fasthttp.RequestCtx) { s.serve(c, next) },
		ErrorHandler:       s.errorAnswer,
		ReadTimeout:        ReadTimeout,
		WriteTimeout:       WriteTimeout,
		IdleTimeout:        s.idle,
		ReadBufferSize:     MaxHeaderBytes, // fasthttp's bound on a request's headers
		MaxRequestBodySize: httpapi.MaxBodyBytes,
		// fasthttp serves each connection on a worker goroutine that it
		// keeps for MaxIdleWorkerDuration (10 s by default, cleaned every
		// as long) once the connection has closed. A flood of connections
		// (make bench's ladder, 15,000 at once) left 14,000 idle workers,
		// the proxy at 140 MB, into the overload round that follows: the
		// proxy at 124-161 MB in it against its bound of 100. At 1 s the
		// round still peaked at 125 MB; at 100 ms at 78-85 MB
		// (docs/benchmarks.md). A steady load loses nothing: a worker
		// serves a connection for the connection's life, and the cleaning
		// is a wake-up each 100 ms.
		MaxIdleWorkerDuration: 100 * time.Millisecond,
		// Keep-alive clients learn at their next answer that the proxy
		// is going, rather than from a closed connection.
		CloseOnShutdown:              true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true, // the handler sets its own
		DisablePreParseMultipartForm: true,
		Logger:                       printfLogger{log},
	}
	return s
}

// Serve serves connections accepted on ln until Shutdown, and returns
// http.ErrServerClosed then, or the error that stopped it. As many
// connections may wait for a first request as may be open. After Shutdown
// it closes ln and returns http.ErrServerClosed at once, as net/http's
// does.
func (s *HTTP) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		_ = ln.Close()
		return http.ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	// fasthttp closes the listener it serves at its Shutdown, but not when
	// its Serve returns for another reason (an accept error, or a Serve it
	// had not yet taken when Shutdown came): the connections waiting for a
	// first request must not outlive it.
	fl := listenFirstRequest(ln, s.idle, int(s.max), s.log)
	defer fl.Close()
	err := s.fast.Serve(countOpen{fl, s})
	if err == nil { // fasthttp's answer to a closed listener
		return http.ErrServerClosed
	}
	return err
}

// Shutdown stops accepting connections, closes those waiting for a first
// request and the idle ones, and waits for the requests being served to
// be answered, or for ctx to end (then it returns ctx's error). Keep-alive
// connections are answered with Connection: close meanwhile.
//
// fasthttp's Shutdown knows only the listeners its Serve has taken, and
// then forgets that it was called: a Serve begun just before (between
// this Serve's start and fasthttp's) would go on serving, its requests not
// drained, or, with no process exit behind it, for ever. So Serve refuses
// to start once Shutdown has begun, and Shutdown closes every listener
// Serve was handed once more, which ends such a Serve at its next accept.
func (s *HTTP) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shut = true
	lns := s.lns
	s.mu.Unlock()
	err := s.fast.ShutdownWithContext(ctx)
	for _, ln := range lns {
		_ = ln.Close() // closed already by fasthttp, but for a Serve it had not yet taken
	}
	return err
}

// CountOwnAnswers has the server tell count the status of each answer it
// gives itself, without the handler and so without the handler's metrics:
// 503 past the connection bound, and 400, 408, 413 or 431 to a request it
// cannot read. Under a flood of connections most 503s are the bound's
// (docs/benchmarks.md), so without it the service's metrics miss them.
// Call it before Serve; count must be safe for concurrent use.
func (s *HTTP) CountOwnAnswers(count func(code int)) { s.ownAnswer = count }

// own reports one of the server's own answers.
func (s *HTTP) own(code int) {
	if s.ownAnswer != nil {
		s.ownAnswer(code)
	}
}

// Open returns how many connections count against the bound now.
func (s *HTTP) Open() int64 { return s.open.Load() }

// serve sheds the requests of connections past the bound, except
// GET /healthz, and hands the others to next.
func (s *HTTP) serve(c *fasthttp.RequestCtx, next fasthttp.RequestHandler) {
	if cc, ok := c.Conn().(*countedConn); ok && cc.over && string(c.Path()) != "/healthz" {
		c.SetConnectionClose()
		c.Response.Header.Set("Retry-After", "1")
		setJSONError(c, http.StatusServiceUnavailable, "the service is busy: retry shortly", "")
		s.own(http.StatusServiceUnavailable)
		return
	}
	next(c)
}

// countOpen counts the connections its listener hands out until they are
// closed, and marks those handed out while max were open.
type countOpen struct {
	net.Listener
	s *HTTP
}

func (l countOpen) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: conn, open: &l.s.open, over: l.s.open.Add(1) > l.s.max}, nil
}

// countedConn is a connection counted open until its first Close (fasthttp
// closes every connection it served).
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	over   bool
	closed atomic.Bool
	remote string // RemoteAddr().String(), once asked (by one goroutine: fasthttp serves a connection on one)
}

func (c *countedConn) remoteAddr() string {
	if c.remote == "" {
		c.remote = c.RemoteAddr().String()
	}
	return c.remote
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

// errorAnswer answers a request the server could not read as the handler
// answers its errors: a JSON body with the reason and the request id
// (fasthttp then closes the connection).
func (s *HTTP) errorAnswer(c *fasthttp.RequestCtx, err error) {
	defer func() { s.own(c.Response.StatusCode()) }()
	id := httpapi.RequestIDFor(string(c.Request.Header.Peek("X-Request-Id")))
	c.Response.Header.Set("X-Request-Id", id)
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		setJSONError(c, http.StatusRequestEntityTooLarge, "body is larger than "+strconv.Itoa(httpapi.MaxBodyBytes)+" bytes", id)
	case errors.As(err, &small):
		setJSONError(c, http.StatusRequestHeaderFieldsTooLarge, "the request line and headers are larger than "+strconv.Itoa(MaxHeaderBytes)+" bytes", id)
	case errors.As(err, &netErr) && netErr.Timeout():
		setJSONError(c, http.StatusRequestTimeout, "the request did not arrive within "+ReadTimeout.String(), id)
	default:
		setJSONError(c, http.StatusBadRequest, "the request is not valid HTTP/1.1", id)
	}
}

// setJSONError sets c's answer to status and {"error": msg} with the
// request id when there is one, the handler's error shape.
func setJSONError(c *fasthttp.RequestCtx, status int, msg, requestID string) {
	c.Response.Header.Set("Content-Type", "application/json")
	c.Response.Header.Set("Cache-Control", "no-store")
	c.Response.Header.Set("X-Content-Type-Options", "nosniff")
	c.SetStatusCode(status)
	body := map[string]string{"error": msg}
	if requestID != "" {
		body["request_id"] = requestID
	}
	b, _ := json.Marshal(body) // a map of strings always marshals
	c.SetBody(append(b, '\n'))
}

// printfLogger takes fasthttp's log lines (errors serving a connection,
// mostly a client's) at debug level: a client that sends garbage must not
// flood the logs.
type printfLogger struct{ log zerolog.Logger }

func (l printfLogger) Printf(format string, args ...any) { l.log.Debug().Msgf(format, args...) }
