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
}

// WarmStore opens the first connection during INIT so the first invocation
// does not pay for it (migrations, when asked, were applied when the store
// was built). A failed ping is only logged: the pool dials again on the
// first query, and failing INIT would just make Lambda retry it.
func WarmStore(ctx context.Context, s Store, log zerolog.Logger) {
	pctx, cancel := context.WithTimeout(ctx, InitPingTimeout)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		log.Warn().Err(err).Msg("postgres not reachable during INIT; the first invocation will dial again")
	}
}
