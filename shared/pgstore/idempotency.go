package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/numbers-app/numbers/shared/number"
)

var _ number.KeyStore = (*Store)(nil)

// Claim binds key to s unless the key is already bound within window, in
// which case it returns the submission bound to it. A key bound to another
// value is number.ErrKeyReused. Concurrent claims of one key agree: the
// primary key serialises them.
//
// A claim that failed on a broken connection is sent again (retryBroken).
// That is safe: if the first attempt did not commit, the second is a first
// claim; if it committed and only the answer was lost, the second finds the
// key bound to sub's own id within the window, which Claim recognises as
// this request's own claim (not a replay), so the outcome is that of one
// claim either way.
func (s *Store) Claim(ctx context.Context, key string, sub number.Submission, window time.Duration) (number.Submission, bool, error) {
	var got number.Submission
	var err error
	err = s.retryBroken(ctx, func() error {
		return s.claimRow(ctx, key, sub, window, &got)
	})
	if err == nil {
		return sub, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return number.Submission{}, false, translate("claim idempotency key", err)
	}
	// Bound already and not expired: the first request's submission.
	err = s.retryBroken(ctx, func() error {
		return s.db.QueryRowContext(ctx, `SELECT id::text, value, accepted_at FROM idempotency_keys WHERE key = ?`, key).
			Scan(&got.ID, &got.Value, &got.AcceptedAt)
	})
	if err != nil {
		return number.Submission{}, false, translate("read idempotency key", err)
	}
	if got.Value != sub.Value {
		return number.Submission{}, false, fmt.Errorf("%w: it was used with another value", number.ErrKeyReused)
	}
	if got.ID == sub.ID {
		// This request's own claim, committed by an attempt whose answer
		// was lost.
		return sub, false, nil
	}
	got.AcceptedAt = got.AcceptedAt.UTC()
	got.RequestID = sub.RequestID
	return got, true, nil
}

func (s *Store) claimRow(ctx context.Context, key string, sub number.Submission, window time.Duration, got *number.Submission) error {
	return s.db.QueryRowContext(ctx, `
		INSERT INTO idempotency_keys (key, id, value, accepted_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE
			SET id = EXCLUDED.id, value = EXCLUDED.value, accepted_at = EXCLUDED.accepted_at, created_at = now()
			WHERE idempotency_keys.created_at < now() - make_interval(secs => ?)
		RETURNING id::text, value, accepted_at`,
		key, sub.ID, sub.Value, number.Truncate(sub.AcceptedAt), window.Seconds(),
	).Scan(&got.ID, &got.Value, &got.AcceptedAt)
}

// PruneKeys deletes keys older than window and returns how many.
func (s *Store) PruneKeys(ctx context.Context, window time.Duration) (int, error) {
	var res sql.Result
	err := s.retryBroken(ctx, func() (err error) {
		res, err = s.db.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => ?)`, window.Seconds())
		return err
	})
	if err != nil {
		return 0, translate("prune idempotency keys", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
