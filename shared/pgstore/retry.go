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

// retryOnce runs op, and once more when it failed because the connection it
// ran on was broken (the server ended the session: a restart, a failover, an
// idle timeout, a dropped socket) while the caller's context is live.
// database/sql discards that connection, and the pool check (checkIdle)
// makes the second attempt run on a healthy or new one.
//
// Only work that is safe to run twice uses it: reads, and writes whose
// second run has the effect of one (INSERT ... ON CONFLICT DO NOTHING, the
// idempotency-key claim, see Claim). Timeouts are not retried: a database
// that hangs would only double the wait.
func retryOnce(ctx context.Context, op func() error) error {
	err := op()
	if err != nil && brokenConn(err) && ctx.Err() == nil {
		err = op()
	}
	return err
}

// brokenConn reports whether err means the connection was lost rather than
// the statement refused.
func brokenConn(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		code := pgErr.Field('C')
		// FATAL ends the session: 57P01 admin shutdown, 57P02 crash
		// shutdown, 57P05 idle-session timeout, class 08.
		return pgErr.Field('V') == "FATAL" && (strings.HasPrefix(code, "57P") || strings.HasPrefix(code, "08"))
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
