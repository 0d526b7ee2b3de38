// Package hung serves a listener that accepts connections and never
// answers: a database (or any server) that hangs, for tests. It imports
// nothing of this module, so every package's tests can use it.
package hung

import (
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Listener accepts connections on a loopback port and never answers; it
// closes the listener and every connection when the test ends.
func Listener(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0") //nolint:noctx // lives until the test's cleanup
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln
}

// PostgresURL is a Postgres URL to a Listener: a database that accepts
// connections and never answers.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return "postgres://postgres@" + Listener(t).Addr().String() + "/numbers?sslmode=disable"
}
