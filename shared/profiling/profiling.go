// Package profiling serves net/http/pprof on a loopback address, for
// benchmarks and debugging only: it is off unless PPROF_ADDR is set.
package profiling

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Serve listens on addr (which must be a loopback address, e.g.
// 127.0.0.1:6060) and serves the pprof handlers under /debug/pprof/ until the
// returned stop is called. An empty addr serves nothing and returns a no-op.
// It fails when addr is taken or not loopback: profiles reveal internals and
// must never be reachable from the network.
func Serve(addr string) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr) //nolint:noctx // a listener lives until Close, not for a context
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR %s: %w", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("PPROF_ADDR %s: only a loopback address may serve profiles", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	// Best effort: Serve returns only when stopped or when the listener
	// fails, and profiling never takes the service down with it.
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}
