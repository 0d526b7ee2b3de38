package pgstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/uptrace/bun/driver/pgdriver"
)

// retryBroken runs op, and again, on a fresh connection, when it failed
// because the connection it ran on was broken (the server ended the
// session: a restart, a failover, pg_terminate_backend, an idle timeout, a
// dropped socket) while the caller's context is live.
//
// What broke one connection has most likely broken the others that sat
// idle beside it, some of them so recently that the idle check (checkIdle)
// cannot see it yet: so the idle ones are closed before the retry, which
// then runs on a new connection, or on one another goroutine was using at
// that moment. That one may have been ended by the same event a moment
// later (sessions ended together are ended one by one, and the notice may
// arrive only after the idle check looked), so a retry that again meets a
// broken connection is retried. Each such failure closes the connection it
// ran on (pgdriver closes a connection on FATAL or a socket error), so one
// event can fail at most as many attempts as the pool holds connections:
// that is the bound (poolSize retries after the first attempt, and at least
// two, as before). A fixed
// bound of two retries let a pg_terminate_backend of every session, under
// load, reach a client: three attempts met three connections the event had
// ended, with four in the pool.
//
// Only work that is safe to run twice uses it: reads, and writes whose
// second run has the effect of one (INSERT ... ON CONFLICT DO NOTHING, the
// idempotency-key claim, see Claim). Timeouts are not retried: a database
// that hangs would only double the wait.
func (s *Store) retryBroken(ctx context.Context, op func() error) error {
	err := op()
	for range max(s.poolSize, 2) {
		if err == nil || !brokenConn(err) || ctx.Err() != nil {
			break
		}
		s.dropIdle()
		if s.beforeRetry != nil {
			s.beforeRetry()
		}
		err = op()
	}
	return err
}

// dropIdle closes the pool's idle connections.
func (s *Store) dropIdle() {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	s.sqldb.SetMaxIdleConns(0)
	s.sqldb.SetMaxIdleConns(s.poolSize)
}

// brokenConn reports whether err means the connection was lost rather than
// the statement refused.
func brokenConn(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		code := pgErr.Field('C')
		// FATAL ends the session: 57P01 admin shutdown, 57P02 crash
		// shutdown, 57P05 idle-session timeout, class 08. (57P03, "cannot
		// connect now", is a dial refused: retrying at once is no use;
		// 08P01, a protocol violation, would come again for the same
		// statement.)
		return pgErr.Field('V') == "FATAL" && code != "57P03" && code != "08P01" &&
			(strings.HasPrefix(code, "57P") || strings.HasPrefix(code, "08"))
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
