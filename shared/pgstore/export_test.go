package pgstore

import (
	"context"
	"net"
)

// For the external tests (package pgstore_test, which may import testenv).
var (
	EncodeCursor = encodeCursor
	DecodeCursor = decodeCursor
)

// OpenBlindToIdleBreaks opens a Store whose idle check cannot see a broken
// connection (its sockets hide the file descriptor the check peeks at), as
// when the server's notice arrives only after the check looked; and which
// calls beforeRetry between retryBroken's drop of the idle connections and
// its next attempt.
func OpenBlindToIdleBreaks(cfg Config, beforeRetry func()) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := newConnector(cfg)
	if err != nil {
		return nil, err
	}
	dial := conn.base.Dialer
	conn.base.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return struct{ net.Conn }{nc}, nil // not a syscall.Conn
	}
	s := open(cfg, conn)
	s.beforeRetry = beforeRetry
	return s, nil
}
