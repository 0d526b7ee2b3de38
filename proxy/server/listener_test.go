package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/proxy/server"
)

// serve serves srv on a fresh loopback listener until the test ends and
// returns its base URL.
func serve(t *testing.T, srv *server.HTTP) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		assert.ErrorIs(t, <-served, http.ErrServerClosed)
	})
	return "http://" + ln.Addr().String()
}

// httpServer is server.HTTPServer for h with a bound of maxConns and no log.
func httpServer(h http.Handler, maxConns int) *server.HTTP {
	return server.HTTPServer(h, maxConns, zerolog.Nop())
}

// noContent answers every request 204.
var noContent = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

const aPost = "POST /api/values HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"value\": 7}"

// dial opens a connection to base ("http://host:port") that ends with the test.
func dial(t *testing.T, base string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", base[len("http://"):])
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// roundTrip writes req on conn and reads the answer's status, within 30 s.
// It needs no *testing.T, so goroutines other than the test's call it too.
func roundTrip(conn net.Conn, req string) (int, error) {
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return 0, err
	}
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// closedByServer reports whether the server closed conn (a read ends in EOF
// or a reset) before the read's deadline, 30 s away.
func closedByServer(t *testing.T, conn net.Conn) bool {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	_, err := io.ReadAll(conn)
	return err == nil || errors.Is(err, syscall.ECONNRESET) // ReadAll's nil is EOF
}

// A client may open a connection ahead of its request and keep it idle in
// its pool, as Go's http.Transport does with one it dialed for a request
// that another connection then took. The server closed such a connection
// after its read timeout, which net/http and fasthttp count from the
// connect for a first request, and a request sent on it then met an EOF or
// a reset: seen in make bench's overload rounds. Now it is served.
func TestAConnectionOpenedAheadOfItsRequestIsServedWhenTheRequestComes(t *testing.T) {
	t.Parallel()
	base := serve(t, httpServer(noContent, 0))
	conn := dial(t, base)
	time.Sleep(server.ReadTimeout + time.Second)
	status, err := roundTrip(conn, aPost)
	require.NoError(t, err, "a request on a connection that waited %v for it", server.ReadTimeout+time.Second)
	assert.Equal(t, http.StatusNoContent, status)
}

// Once a request has begun to arrive, the read timeout still applies: a
// client that sends part of its headers and stalls is cut off (before the
// 30 s this test waits; IdleTimeout is 60 s).
func TestARequestWhoseHeadersStallIsStillCutOffByTheReadTimeout(t *testing.T) {
	t.Parallel()
	base := serve(t, httpServer(noContent, 0))
	conn := dial(t, base)
	_, err := io.WriteString(conn, "POST /api/values HTTP/1.1\r\nHost: pr")
	require.NoError(t, err)
	assert.True(t, closedByServer(t, conn), "the server must close a connection whose headers stall")
}

// Connections that send nothing do not hold the bound against clients that
// do: a connection counts as open from its first request.
func TestConnectionsThatSendNothingDoNotHoldTheBound(t *testing.T) {
	t.Parallel()
	base := serve(t, httpServer(noContent, 2))
	dial(t, base)
	dial(t, base)
	time.Sleep(100 * time.Millisecond) // both accepted, and waiting, before the third
	status, err := roundTrip(dial(t, base), aPost)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, status, "a client's request while two connections that send nothing wait, with a bound of two")
}

// Shutdown closes the connections still waiting for their first request, as
// it closes idle ones, and returns.
func TestShutdownClosesTheConnectionsWaitingForTheirFirstRequest(t *testing.T) {
	t.Parallel()
	srv := httpServer(noContent, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	conn := dial(t, "http://"+ln.Addr().String())
	status, err := roundTrip(dial(t, "http://"+ln.Addr().String()), aPost) // the server is serving
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	require.ErrorIs(t, <-served, http.ErrServerClosed)
	assert.True(t, closedByServer(t, conn), "a connection waiting for its first request when the server shut down")
}

// A connection opened ahead of its request, whose request comes while the
// bound is full, gets the 503 + Retry-After, not a connection the server
// closed after its read timeout: the client is told to come back, not left
// unsure.
func TestARequestOnAConnectionOpenedAheadOfItThatComesWhileTheBoundIsFullIsAnswered503(t *testing.T) {
	t.Parallel()
	base := serve(t, httpServer(noContent, 1))
	served := dial(t, base)
	status, err := roundTrip(served, aPost) // open, and idle between requests: the bound of one is full
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status)
	ahead := dial(t, base)
	time.Sleep(server.ReadTimeout + time.Second)
	status, err = roundTrip(ahead, aPost)
	require.NoError(t, err, "a request on a connection that waited %v for it", server.ReadTimeout+time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, status)
}
