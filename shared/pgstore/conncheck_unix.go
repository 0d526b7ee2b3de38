//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package pgstore

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// idleConnBroken reports whether a connection that sat idle in the pool is
// no longer usable, without a round trip: an idle Postgres connection has
// nothing to read, so bytes waiting (the FATAL "terminating connection due
// to administrator command" a restart sends, or a ParameterStatus a
// configuration reload sends), an end of stream or a socket error all mean
// "do not use it". It peeks (MSG_PEEK|MSG_DONTWAIT), as
// go-sql-driver/mysql's connCheck does.
func idleConnBroken(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	broken := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n > 0: // something arrived while idle
			broken = true
		case rerr == nil: // n == 0: the server closed the connection
			broken = true
		case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EWOULDBLOCK), errors.Is(rerr, syscall.EINTR):
			// nothing to read: alive
		default:
			broken = true
		}
		return true // never wait for readability
	})
	return broken || err != nil
}
