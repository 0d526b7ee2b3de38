package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/uptrace/bun/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the pg_advisory_lock key that serialises migrations
// when several workers start at once ("numbers" in ASCII).
const migrationLockKey = 0x6e756d62657273

// Migrate applies the embedded migrations that are not applied yet. Several
// processes may call it at once: a session advisory lock makes them take
// turns, and the later ones find nothing left to do.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, translate("migrate: connect", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", migrationLockKey); err != nil {
		return nil, translate("migrate: lock", err)
	}
	defer func() {
		// Unlock on a fresh context: the caller's may be cancelled already.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", migrationLockKey)
	}()

	migrations := migrate.NewMigrations()
	if err := migrations.Discover(migrationFiles); err != nil {
		return nil, fmt.Errorf("migrate: discover: %w", err)
	}
	m := migrate.NewMigrator(s.db, migrations)
	if err := m.Init(ctx); err != nil {
		return nil, translate("migrate: init", err)
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, translate("migrate: apply", err)
	}
	var applied []string
	for _, mig := range group.Migrations {
		applied = append(applied, mig.Name)
	}
	return applied, nil
}

// MigrateWithRetry calls Migrate until it succeeds, retrying with backoff for
// up to maxWait while Postgres is not up yet (processes may start first).
func (s *Store) MigrateWithRetry(ctx context.Context, log zerolog.Logger, maxWait time.Duration) error {
	delay := 200 * time.Millisecond
	deadline := time.Now().Add(maxWait)
	for {
		applied, err := s.Migrate(ctx)
		if err == nil {
			if len(applied) > 0 {
				log.Info().Strs("migrations", applied).Msg("schema migrated")
			}
			s.checkRoles(ctx, log)
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("migrate: %w", errors.Join(err, ctx.Err()))
		}
		log.Warn().Err(err).Dur("retry_in", delay).Msg("migration failed; retrying")
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// The least-privilege roles the migrations create (see migrations/
// 20261130000001_least_privilege_roles.up.sql).
const (
	RoleProxy  = "numbers_proxy"
	RoleWorker = "numbers_worker"
)

// MissingRoles returns the least-privilege roles that do not exist (the
// migrating user lacked CREATEROLE).
func (s *Store) MissingRoles(ctx context.Context) ([]string, error) {
	var missing []string
	for _, r := range []string{RoleProxy, RoleWorker} {
		var exists bool
		if err := s.db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?)", r).Scan(&exists); err != nil {
			return nil, translate("check roles", err)
		}
		if !exists {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// checkRoles logs the least-privilege roles the migration had to skip.
func (s *Store) checkRoles(ctx context.Context, log zerolog.Logger) {
	missing, err := s.MissingRoles(ctx)
	if err != nil || len(missing) == 0 {
		return
	}
	log.Warn().Strs("roles", missing).Msg("least-privilege roles not created: the migrating user lacks CREATEROLE " +
		"(create them as a user who has it and migrate again, or run as the owner)")
}
