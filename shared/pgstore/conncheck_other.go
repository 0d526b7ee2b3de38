//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package pgstore

import "net"

// idleConnBroken cannot peek on this platform: the retry of safe work
// (retryBroken) still covers a connection that broke while idle.
func idleConnBroken(net.Conn) bool { return false }
