package pgstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/numbers-app/numbers/shared/number"
)

// exactCountBelow: tables the planner estimates smaller than this are
// counted exactly; larger ones report the estimate (counting is a scan).
const exactCountBelow = 1_000_000

// StatsFigures reads number.Figures with cheap queries: the planner's
// row estimate (an exact count for small tables), max(accepted_at) and the
// median lag of at most 1000 recent rows, the last two through the
// (accepted_at DESC, id DESC) index.
func (s *Store) StatsFigures(ctx context.Context, now time.Time) (number.Figures, error) {
	var f number.Figures
	var est sql.NullInt64
	if err := s.retryBroken(ctx, func() error {
		return s.db.QueryRowContext(ctx, "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('numbers')").Scan(&est)
	}); err != nil {
		return f, translate("estimate numbers", err)
	}
	if est.Valid && est.Int64 >= exactCountBelow {
		f.Count = est.Int64
	} else {
		if err := s.retryBroken(ctx, func() error { return s.db.QueryRowContext(ctx, "SELECT count(*) FROM numbers").Scan(&f.Count) }); err != nil {
			return f, translate("count numbers", err)
		}
		f.Exact = true
	}
	var newest sql.NullTime
	if err := s.retryBroken(ctx, func() error { return s.db.QueryRowContext(ctx, "SELECT max(accepted_at) FROM numbers").Scan(&newest) }); err != nil {
		return f, translate("newest number", err)
	}
	f.NewestAcceptedAt = newest.Time
	var lag float64
	if err := s.retryBroken(ctx, func() error {
		return s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(percentile_cont(0.5) WITHIN GROUP
		(ORDER BY extract(epoch FROM stored_at - accepted_at)), 0) FROM
		(SELECT stored_at, accepted_at FROM numbers WHERE accepted_at > ? ORDER BY accepted_at DESC LIMIT 1000) recent`,
			now.Add(-time.Minute).UTC()).Scan(&f.RecentSamples, &lag)
	}); err != nil {
		return f, translate("recent lag", err)
	}
	f.RecentLag = time.Duration(lag * float64(time.Second))
	return f, nil
}
