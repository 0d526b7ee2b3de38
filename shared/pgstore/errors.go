package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/numbers-app/numbers/shared/number"
)

// The one classification of Postgres errors. Every error this package
// returns goes through translate, which sorts it into one of three kinds:
//
//   - unavailable (wrapped in number.ErrUnavailable: retry later, nothing
//     was promised): the network, a broken or refused connection, timeouts,
//     and the SQLSTATEs of a database that is there but not taking this work
//     now: class 08 (connection exception), class 53 (insufficient
//     resources, too many connections), 57P0x (operator intervention:
//     shutdown, crash recovery, starting up), 57014 (statement timeout or
//     cancel), 25006 (read-only transaction: a failover, a replica, a
//     database put in read-only mode), 40001/40P01 (serialization failure,
//     deadlock: retrying the transaction succeeds), 28000/28P01 (the
//     credentials were refused: a rotated password; see Credentials);
//   - invalid (a *number.Error, CodeRefused, 400 at the edge): class 22,
//     a data exception caused by a value the client sent (a cursor's time
//     out of range, a malformed uuid), with a message the client can read;
//   - anything else is a bug and keeps its cause (500 at the edge).

// Kind is the class of an error from Postgres.
type Kind int

// The kinds of Classify.
const (
	KindBug Kind = iota
	KindUnavailable
	KindInvalid
)

func (k Kind) String() string {
	switch k {
	case KindUnavailable:
		return "unavailable"
	case KindInvalid:
		return "invalid"
	}
	return "bug"
}

// Classify sorts an error from the driver or database/sql into its Kind.
func Classify(err error) Kind {
	if err == nil {
		return KindBug
	}
	if errors.Is(err, number.ErrUnavailable) {
		return KindUnavailable
	}
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		code := pgErr.Field('C')
		switch {
		case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57P"),
			code == "57014", code == "25006", code == "40001", code == "40P01", code == "28000", code == "28P01":
			return KindUnavailable
		case strings.HasPrefix(code, "22"):
			return KindInvalid
		}
		return KindBug
	}
	var netErr net.Error
	switch {
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return KindUnavailable
	}
	return KindBug
}

// IsReadOnly reports whether err is Postgres refusing a write because the
// transaction is read-only (SQLSTATE 25006): a failover in progress, a
// replica, or default_transaction_read_only.
func IsReadOnly(err error) bool { return sqlState(err) == "25006" }

// isAuthFailure reports whether the server refused the credentials.
func isAuthFailure(err error) bool {
	code := sqlState(err)
	return code == "28P01" || code == "28000"
}

func sqlState(err error) string {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C')
	}
	return ""
}

// translate wraps err by its Kind: unavailable in number.ErrUnavailable,
// invalid in a *number.Error (the client reads the database's message,
// the log the whole error), a bug as it is.
func translate(op string, err error) error {
	switch Classify(err) {
	case KindUnavailable:
		return fmt.Errorf("%s: %w: %w", op, number.ErrUnavailable, err)
	case KindInvalid:
		var pgErr pgdriver.Error
		errors.As(err, &pgErr)
		return fmt.Errorf("%s: %w", op, &number.Error{
			Code:    number.CodeRefused,
			Message: "the database refused a value in this request: " + pgErr.Field('M'),
			Err:     err,
		})
	}
	return fmt.Errorf("%s: %w", op, err)
}
