package lambdaapi

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// InitPingTimeout bounds the connection a function opens during INIT.
const InitPingTimeout = 2 * time.Second

// Store is what INIT needs from the Postgres store (pgstore.Store).
type Store interface {
	Ping(ctx context.Context) error
	MigrateWithRetry(ctx context.Context, log zerolog.Logger, maxWait time.Duration) error
}

// InitStore migrates when asked, then opens the first connection during INIT
// so the first invocation does not pay for it. A failed ping is only logged:
// the pool dials again on the first query, and failing INIT would just
// make Lambda retry it.
func InitStore(ctx context.Context, s Store, migrate bool, log zerolog.Logger) error {
	if migrate {
		if err := s.MigrateWithRetry(ctx, log, 5*time.Second); err != nil {
			return err
		}
	}
	pctx, cancel := context.WithTimeout(ctx, InitPingTimeout)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		log.Warn().Err(err).Msg("postgres not reachable during INIT; the first invocation will dial again")
	}
	return nil
}
