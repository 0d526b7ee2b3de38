package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/testenv"
)

// rawAnswer is what a test compares of an answer.
type rawAnswer struct {
	status  int
	headers map[string]string
	body    string
}

// uuids matches the UUIDs of ids and request ids, which differ from one
// answer to the next.
var uuids = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// comparedHeaders are the answer headers the handler or the server sets
// (Date and Content-Length are each server's own).
var comparedHeaders = []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "Retry-After", "Allow", "Location",
	"Vary", "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Max-Age", "Access-Control-Expose-Headers", "Idempotent-Replayed", "X-Request-Id"}

// send writes req, a raw HTTP/1.1 request, on a new connection to base
// and reads the answer, UUIDs replaced by "<uuid>".
func send(t *testing.T, base, req string) rawAnswer {
	t.Helper()
	conn := dial(t, base)
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	_, err := io.WriteString(conn, req)
	require.NoError(t, err)
	method, _, _ := strings.Cut(req, " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	require.NoError(t, err, "an answer to %q", req)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "the body of the answer to %q", req)
	a := rawAnswer{status: resp.StatusCode, headers: map[string]string{}, body: uuids.ReplaceAllString(string(body), "<uuid>")}
	for _, h := range comparedHeaders {
		if vs := resp.Header.Values(h); len(vs) > 0 {
			a.headers[h] = uuids.ReplaceAllString(strings.Join(vs, "; "), "<uuid>")
		}
	}
	return a
}

// The proxy's server hands requests to the same http.Handler that net/http
// serves in the HTTP Lambda function and served in the proxy before: the
// write through a conversion of its own, the rest through fasthttpadaptor.
// Every kind of request is answered alike by both: status, the headers the
// handler sets, and the body (ids aside).
func TestTheProxysServerAnswersAsNetHTTPDoes(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	testenv.StoreAt(t, dbURL)
	qs := testenv.NewQueues(t, 5, 30*time.Second)
	cfg := server.Config{
		Common:    testenv.Common(t, dbURL, qs),
		WriteMode: "async", ForwardedForHops: 1, CORSOrigins: []string{"https://allowed.example"},
	}
	built, err := server.New(context.Background(), cfg, testenv.Logger(t), server.Options{})
	require.NoError(t, err)
	t.Cleanup(built.Close) // after both servers' shutdown (cleanups run last first)
	netHTTP := httptest.NewServer(built.API)
	t.Cleanup(netHTTP.Close)
	proxy := serve(t, httpServer(built.API, 0))

	post := func(extra, body string) string {
		return "POST /api/values HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n" + extra +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	get := func(target string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n"
	}
	cases := map[string]string{
		"a write":                        post("Content-Type: application/json\r\n", `{"value": 7}`),
		"a write without a content type": post("", `{"value": 7}`),
		"a write with its request id":    post("Content-Type: application/json\r\nX-Request-Id: client-id-1\r\n", `{"value": 7}`),
		"a write with a bad request id":  post("Content-Type: application/json\r\nX-Request-Id: bad id\r\n", `{"value": 7}`),
		"a write with a query":           strings.Replace(post("", `{"value": 7}`), "/api/values", "/api/values?x=1", 1),
		"a write as a string":            post("Content-Type: application/json\r\n", `{"value": "-12"}`),
		"a write with a charset":         post("Content-Type: application/json; charset=utf-8\r\n", `{"value": 7}`),
		"a write with an unknown field":  post("Content-Type: application/json\r\n", `{"value": 7, "x": 1}`),
		"a write that is not JSON":       post("Content-Type: application/json\r\n", `{"value": 7`),
		"a write of a float":             post("Content-Type: application/json\r\n", `{"value": 7.5}`),
		"a write out of range":           post("Content-Type: application/json\r\n", `{"value": 9223372036854775808}`),
		"an empty write":                 post("Content-Type: application/json\r\n", ``),
		"a write of text":                post("Content-Type: text/plain\r\n", `{"value": 7}`),
		"a write too large":              post("Content-Type: application/json\r\n", `{"value": 7}`+strings.Repeat(" ", 5000)),
		"a write with a bad key":         post("Content-Type: application/json\r\nIdempotency-Key: bad key\r\n", `{"value": 7}`),
		"a write from an allowed origin": post("Content-Type: application/json\r\nOrigin: https://allowed.example\r\n", `{"value": 7}`),
		"a write from another origin":    post("Content-Type: application/json\r\nOrigin: https://other.example\r\n", `{"value": 7}`),
		"a chunked write": "POST /api/values HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\nContent-Type: application/json\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"val\r\n7\r\nue\": 7}\r\n0\r\n\r\n",
		"a preflight": "OPTIONS /api/values HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\nOrigin: https://allowed.example\r\n" +
			"Access-Control-Request-Method: POST\r\n\r\n",
		"a preflight from another origin": "OPTIONS /api/values HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n" +
			"Origin: https://other.example\r\nAccess-Control-Request-Method: POST\r\n\r\n",
		"an escaped write path": strings.Replace(post("", `{"value": 7}`), "/api/values", "/api%2Fvalues", 1),
		"a write by PUT":        strings.Replace(post("", `{"value": 7}`), "POST", "PUT", 1),
		"liveness":              get("/healthz"),
		"liveness by HEAD":      strings.Replace(get("/healthz"), "GET", "HEAD", 1),
		"a bad id":              get("/api/values/not-a-uuid"),
		"an id not stored":      get("/api/values/019dd1c6-7a10-7c3e-9b1a-5f0e2d4c8a01"),
		"a bad limit":           get("/api/values?limit=0"),
		"no such endpoint":      get("/nope"),
		"the page's asset":      get("/assets/nope.js"),
		"DELETE of the values":  strings.Replace(get("/api/values"), "GET", "DELETE", 1),
		"a list without values": get("/api/values?limit=1&cursor=zzz"),
		"a write with a key":    post("Content-Type: application/json\r\nIdempotency-Key: parity-key\r\n", `{"value": 7}`),
	}
	for name, req := range cases {
		want := send(t, netHTTP.URL, req)
		if name == "a write with a key" {
			req = strings.Replace(req, "parity-key", "parity-key-2", 1) // a key is claimed once
		}
		got := send(t, proxy, req)
		assert.Equal(t, want, got, "%s: the proxy's server answers as net/http does", name)
	}
}

// A request being served when Shutdown begins is answered, and its
// context is not cancelled meanwhile, as under net/http: fasthttp cancels
// its request context at Shutdown, and a read or a keyed write waiting on
// Postgres would have been answered 499.
func TestShutdownLetsTheRequestsBeingServedFinish(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"/api/values", "/api/values?limit=1"} { // the write's conversion, the adaptor
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			entered := make(chan struct{})
			release := make(chan struct{})
			ctxErr := make(chan error, 1)
			srv := httpServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Hold") != "" {
					close(entered)
					<-release
					ctxErr <- r.Context().Err()
				}
				w.WriteHeader(http.StatusNoContent)
			}), 0)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			base := "http://" + ln.Addr().String()
			req := "POST " + target + " HTTP/1.1\r\nHost: proxy\r\nContent-Length: 12\r\n\r\n{\"value\": 7}"

			// An idle keep-alive connection, which Shutdown closes once it
			// has cancelled (or not) the requests' contexts.
			idle := dial(t, base)
			status, err := roundTrip(idle, req)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, status)

			held := make(chan int, 1)
			go func() {
				s, _ := tryRoundTrip(ln.Addr().String(), strings.Replace(req, "Host: proxy", "Host: proxy\r\nX-Hold: 1", 1))
				held <- s
			}()
			<-entered
			shutdown := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				shutdown <- srv.Shutdown(ctx)
			}()
			require.ErrorIs(t, <-served, http.ErrServerClosed, "Serve returns once Shutdown has begun")
			require.True(t, closedByServer(t, idle), "Shutdown closes the idle connection")
			select {
			case err := <-shutdown:
				t.Fatalf("Shutdown returned (%v) while a request was being served", err)
			default: // it waits for the request: open connections count until closed
			}
			close(release)
			require.NoError(t, <-ctxErr, "the request's context while Shutdown waits for it")
			assert.Equal(t, http.StatusNoContent, <-held, "the request is answered")
			assert.NoError(t, <-shutdown)
		})
	}
}

// tryRoundTrip dials addr and makes roundTrip of req on the connection,
// from any goroutine.
func tryRoundTrip(addr, req string) (int, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return roundTrip(conn, req)
}

// exhaustedListener fails its first accepts as a process out of file
// descriptors does.
type exhaustedListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *exhaustedListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// A proxy out of file descriptors (a flood of connections) keeps serving
// once some are closed: an accept that fails with EMFILE is retried, as
// net/http does. fasthttp's Serve returned on it, and the proxy exited.
func TestAnAcceptOutOfFileDescriptorsIsRetried(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	exhausted := &exhaustedListener{Listener: ln}
	exhausted.fails.Store(3)
	srv := httpServer(noContent, 0)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(exhausted) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
	})

	status := make(chan int, 1)
	go func() {
		s, _ := tryRoundTrip(ln.Addr().String(), aPost)
		status <- s
	}()
	select {
	case err := <-served:
		t.Fatalf("Serve returned on an accept out of file descriptors: %v", err)
	case s := <-status:
		assert.Equal(t, http.StatusNoContent, s, "a request once accepts succeed again")
	}
}

// fasthttpWorkers counts the goroutines fasthttp keeps to serve
// connections, busy or idle.
func fasthttpWorkers() int {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	return strings.Count(b.String(), "fasthttp.(*workerPool).workerFunc(")
}

// After a flood of connections has closed, the goroutines that served them
// go within seconds. fasthttp kept each for 10 s (cleaning every 10 s), and
// make bench's overload round, right after a ladder step of 15,000
// connections, began with 14,000 of them: 110 MB of stacks, against the
// proxy's bound of 100 MB. Not parallel, so that no other test's server
// serves meanwhile.
func TestTheWorkersOfAFloodOfConnectionsGoOnceTheyClose(t *testing.T) { //nolint:paralleltest // counts the process's fasthttp workers
	base := serve(t, httpServer(noContent, 0))
	conns := make([]net.Conn, 200)
	for i := range conns {
		conns[i] = dial(t, base)
		status, err := roundTrip(conns[i], aPost) // served, kept alive
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, status)
	}
	require.GreaterOrEqual(t, fasthttpWorkers(), len(conns), "a worker a connection")
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	// Half of fasthttp's default idle time: the workers must go well before it.
	if !assert.Eventually(t, func() bool { return fasthttpWorkers() == 0 }, 5*time.Second, 50*time.Millisecond,
		"the workers of closed connections are gone") {
		t.Logf("%d workers left", fasthttpWorkers())
	}
}

// keepAlive sends reqs one after the other on one connection to base and
// returns their statuses.
func keepAlive(t *testing.T, base string, reqs ...string) []int {
	t.Helper()
	conn := dial(t, base)
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	br := bufio.NewReader(conn)
	var statuses []int
	for _, req := range reqs {
		_, err := io.WriteString(conn, req)
		require.NoError(t, err)
		method, _, _ := strings.Cut(req, " ")
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	return statuses
}

// What a handler keeps of a request stays as it was when the next request
// comes on the same connection. fasthttpadaptor's request shares its
// strings with fasthttp's buffers, and the rate limiter's table, keyed by
// the client's X-Forwarded-For, saw its keys turn into the next request's.
func TestWhatTheHandlerKeepsOfARequestOutlivesTheNextOnTheConnection(t *testing.T) {
	t.Parallel()
	var kept []string
	srv := httpServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kept = append(kept, r.Header.Get("X-Forwarded-For"), r.Method, r.URL.Path) // one connection: one at a time
		w.WriteHeader(http.StatusNoContent)
	}), 0)
	base := serve(t, srv)
	req := func(method, target, client string) string {
		return method + " " + target + " HTTP/1.1\r\nHost: proxy\r\nX-Forwarded-For: " + client + "\r\nContent-Length: 0\r\n\r\n"
	}
	keepAlive(t, base,
		req("GET", "/api/values?limit=1", "1.1.1.1"),       // through the adaptor
		req("POST", "/api/values", "2.2.2.2"),              // through the write's conversion
		req("DELETE", "/api/values/abc", "XXXXXXXXXXXXXX"), // the adaptor again, overwriting the buffers
	)
	assert.Equal(t, []string{"1.1.1.1", "GET", "/api/values", "2.2.2.2", "POST", "/api/values", "XXXXXXXXXXXXXX", "DELETE", "/api/values/abc"}, kept)
}

// A panic that escapes the handler ends its request with a 500 and its
// connection, not the process: fasthttp recovers none.
func TestAPanicInTheHandlerIsA500NotACrash(t *testing.T) {
	t.Parallel()
	base := serve(t, httpServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), 0))
	for _, req := range []string{aPost, "GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n"} {
		a := send(t, base, req)
		assert.Equal(t, http.StatusInternalServerError, a.status, req)
		assert.Equal(t, "application/json", a.headers["Content-Type"], req)
	}
}

// A request target that is not a URI is the client's error, a 400 with a
// JSON reason, as net/http answered 400 (fasthttpadaptor answers 500).
func TestARequestTargetThatIsNotAURIIsA400(t *testing.T) {
	t.Parallel()
	a := send(t, serve(t, httpServer(noContent, 0)), "GET /%zz HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n")
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Contains(t, a.body, "not a valid URI")
}

// The write's conversion gives the handler the request net/http would:
// the same method, target, protocol, host, length, body and headers
// (a header sent twice keeps both values, in order), and the client's
// address in net/http's form, on every request of a kept-alive connection.
func TestTheWritesHandlerSeesTheRequestNetHTTPWouldMake(t *testing.T) {
	t.Parallel()
	type seen struct {
		Method, Proto, Host, RequestURI, URL, Body string
		ContentLength                              int64
		Header                                     http.Header
		RemoteHost                                 string
		RemotePortOK                               bool
	}
	record := func(into chan<- seen) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			assert.NoError(t, err)
			host, port, err := net.SplitHostPort(r.RemoteAddr)
			into <- seen{r.Method, r.Proto, r.Host, r.RequestURI, r.URL.String(), string(body), r.ContentLength,
				r.Header, host, err == nil && port != "" && port != "0"}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	byNetHTTP, byProxy := make(chan seen, 2), make(chan seen, 2)
	netHTTP := httptest.NewServer(record(byNetHTTP))
	t.Cleanup(netHTTP.Close)
	proxy := serve(t, httpServer(record(byProxy), 0))

	body := `{"value": 7}`
	req := "POST /api/values HTTP/1.1\r\nHost: proxy.example\r\nContent-Type: application/json\r\n" +
		"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 10.0.0.1\r\nIdempotency-Key: k-1\r\n" +
		"X-Custom-Header: a\r\nAccept: */*\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	for _, base := range []string{netHTTP.URL, proxy} {
		conn := dial(t, base)
		for range 2 { // the second on the same connection
			status, err := roundTrip(conn, req)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, status)
		}
	}
	for i := range 2 {
		want, got := <-byNetHTTP, <-byProxy
		assert.Equal(t, want, got, "request %d on the connection", i+1)
	}
}

// A Serve that starts after Shutdown returns at once, as net/http's does:
// fasthttp's Shutdown, called before its Serve took the listener, returned
// and let that Serve go on serving, so a SIGTERM that came while the
// proxy was starting would never have ended it.
func TestServeAfterShutdownReturnsAtOnce(t *testing.T) {
	t.Parallel()
	srv := httpServer(noContent, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		require.ErrorIs(t, err, http.ErrServerClosed)
	case <-ctx.Done():
		_ = ln.Close() // ends the Serve that would not
		t.Fatal("Serve after Shutdown was still serving after 30 s")
	}
	_, err = net.Dial("tcp", ln.Addr().String())
	assert.Error(t, err, "the listener is closed")
}
