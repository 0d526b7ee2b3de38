package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/numbers-app/numbers/shared/number"
)

// ErrReadOnly is wrapped (with number.ErrUnavailable) by Writable when the
// server answers but would refuse writes: a standby, a failover in
// progress, or default_transaction_read_only set.
var ErrReadOnly = errors.New("postgres refuses writes")

// Writable checks that a write would be accepted, not only that the server
// answers: it asks, on one pooled connection, whether this session's
// transactions are read-only (SHOW transaction_read_only, which follows
// default_transaction_read_only) and whether the server is a standby in
// recovery (pg_is_in_recovery()). Every failure, including a server that
// answers "read-only", wraps number.ErrUnavailable: a dependency state to
// wait out, never a fault of the data. It writes nothing.
func (s *Store) Writable(ctx context.Context) error {
	var readOnly string
	var inRecovery bool
	err := s.db.QueryRowContext(ctx,
		"SELECT current_setting('transaction_read_only'), pg_is_in_recovery()").Scan(&readOnly, &inRecovery)
	if err != nil {
		return fmt.Errorf("check postgres is writable: %w: %w", number.ErrUnavailable, err)
	}
	switch {
	case inRecovery:
		return fmt.Errorf("check postgres is writable: %w: %w: in recovery (standby)", number.ErrUnavailable, ErrReadOnly)
	case readOnly != "off":
		return fmt.Errorf("check postgres is writable: %w: %w: transaction_read_only is %s", number.ErrUnavailable, ErrReadOnly, readOnly)
	}
	return nil
}
