package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveUntilCleanup serves srv on a fresh loopback listener until the test
// ends and returns its address.
func serveUntilCleanup(t *testing.T, srv *HTTP) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// Whether a connection is past the bound is judged when its first request
// comes, not at the connect: a connection opened while the bound was full
// is served once a connection has closed meanwhile.
func TestPastTheBoundIsJudgedWhenTheRequestComesNotAtTheConnect(t *testing.T) {
	t.Parallel()
	srv := HTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }), 1, zerolog.Nop())
	addr := serveUntilCleanup(t, srv)

	served, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(served, "GET / HTTP/1.1\r\nHost: proxy\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(served), nil)
	require.NoError(t, err)
	resp.Body.Close()
	ahead, err := net.Dial("tcp", addr) // the bound of one is full
	require.NoError(t, err)
	defer ahead.Close()
	require.NoError(t, served.Close())
	require.Eventually(t, func() bool { return srv.Open() == 0 }, 30*time.Second, 10*time.Millisecond,
		"the served connection counted closed")

	_, err = io.WriteString(ahead, "GET / HTTP/1.1\r\nHost: proxy\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, ahead.SetReadDeadline(time.Now().Add(30*time.Second)))
	resp, err = http.ReadResponse(bufio.NewReader(ahead), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// handingListener is an inner listener whose Accept returns the
// connections handed to it, even after Close: a TCP accept that had
// already returned a connection when Close ran.
type handingListener struct {
	conns  chan net.Conn
	closed atomic.Bool
}

func (h *handingListener) Accept() (net.Conn, error) { return <-h.conns, nil }
func (h *handingListener) Close() error              { h.closed.Store(true); return nil }
func (h *handingListener) Addr() net.Addr            { return &net.TCPAddr{} }

// A connection accepted as the listener closes is closed too, not left
// waiting (for ever, with no idle bound).
func TestAConnectionAcceptedAsTheListenerClosesIsClosed(t *testing.T) {
	t.Parallel()
	inner := &handingListener{conns: make(chan net.Conn)}
	l := listenFirstRequest(inner, 0, 4, zerolog.Nop())
	pair, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pair.Close()
	client, err := net.Dial("tcp", pair.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	server, err := pair.Accept()
	require.NoError(t, err)

	require.NoError(t, l.Close())
	inner.conns <- server
	require.NoError(t, client.SetReadDeadline(time.Now().Add(30*time.Second)))
	_, err = io.ReadAll(client)
	require.NoError(t, err, "the server side is closed (EOF), not left open")
	l.mu.Lock()
	defer l.mu.Unlock()
	assert.Empty(t, l.waiting)
}

// A connection that never sends a request is closed after IdleTimeout, as an
// idle one between requests is: waiting for a first request holds no
// connection for ever.
func TestAConnectionThatNeverSendsARequestIsClosedAfterTheIdleTimeout(t *testing.T) {
	t.Parallel()
	srv := HTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }), 0, zerolog.Nop())
	srv.idle = 300 * time.Millisecond // 60 s in the proxy
	addr := serveUntilCleanup(t, srv)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	_, err = io.ReadAll(conn)
	assert.NoError(t, err, "a connection idle past IdleTimeout before its first request is closed (EOF)")
}
