package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A connection past the bound that never sends a request is closed after
// the idle timeout and leaves nothing behind: not its count, not its mark.
func TestAConnectionPastTheBoundClosedWhileWaitingLeavesNoCountNorMark(t *testing.T) {
	t.Parallel()
	srv := HTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }), 2)
	srv.IdleTimeout = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	// One served and idle, one waiting within the bound of two, and one
	// past it, waiting too (at most two wait).
	var conns []net.Conn
	for i := range 3 {
		conn, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		conns = append(conns, conn)
		if i == 0 {
			_, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: proxy\r\n\r\n")
			require.NoError(t, err)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
		}
	}
	require.Eventually(t, func() bool { return srv.limit.count.Load() == 3 }, 30*time.Second, 10*time.Millisecond,
		"all three counted open")
	for _, conn := range conns {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
		_, err := io.ReadAll(conn)
		require.NoError(t, err, "the server closes each after the idle timeout")
	}
	require.Eventually(t, func() bool { return srv.limit.count.Load() == 0 }, 30*time.Second, 10*time.Millisecond,
		"both counted closed")
	marks := 0
	srv.limit.over.Range(func(any, any) bool { marks++; return true })
	assert.Zero(t, marks, "no connection is left marked past the bound")
}
