package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/local/pgcluster"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/testenv"
)

func TestTheMigrationGrantsEachRoleOnlyWhatItNeeds(t *testing.T) {
	t.Parallel()
	s := testenv.Store(t)
	ctx := context.Background()
	missing, err := s.MissingRoles(ctx)
	require.NoError(t, err)
	assert.Empty(t, missing, "a superuser creates both roles")
	for _, tc := range []struct {
		role, table, privilege string
		want                   bool
	}{
		{pgstore.RoleProxy, "numbers", "SELECT", true},
		{pgstore.RoleProxy, "numbers", "INSERT", false},
		{pgstore.RoleProxy, "numbers", "DELETE", false},
		{pgstore.RoleProxy, "idempotency_keys", "INSERT", true},
		{pgstore.RoleProxy, "idempotency_keys", "UPDATE", true},
		{pgstore.RoleProxy, "idempotency_keys", "DELETE", false},
		{pgstore.RoleWorker, "numbers", "INSERT", true},
		{pgstore.RoleWorker, "numbers", "SELECT", true},
		{pgstore.RoleWorker, "numbers", "UPDATE", false},
		{pgstore.RoleWorker, "numbers", "DELETE", false},
		{pgstore.RoleWorker, "idempotency_keys", "DELETE", true},
		{pgstore.RoleWorker, "idempotency_keys", "INSERT", false},
	} {
		var has bool
		require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT has_table_privilege(?, ?, ?)", tc.role, tc.table, tc.privilege).Scan(&has))
		assert.Equal(t, tc.want, has, "%s %s on %s", tc.role, tc.privilege, tc.table)
	}
}

// Where the migrating user may not create roles (a managed database's
// restricted user), the migration skips them and says so.
func TestTheRolesAreSkippedWithoutCreateRole(t *testing.T) {
	t.Parallel()
	pg := privateCluster(t, pgcluster.Options{}) // its own cluster: roles are cluster-wide
	ctx := context.Background()
	admin := testenv.OpenDB(t, pg.URL())
	for _, q := range []string{`CREATE ROLE owner LOGIN NOCREATEROLE`, `ALTER DATABASE numbers OWNER TO owner`} {
		_, err := admin.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	s, err := pgstore.Open(pgstore.Config{URL: pg.URLFor("owner")})
	require.NoError(t, err)
	defer s.Close()
	var logged strings.Builder
	require.NoError(t, s.MigrateWithRetry(ctx, zerologTo(&logged), 0), "the migration succeeds without CREATEROLE")
	missing, err := s.MissingRoles(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{pgstore.RoleProxy, pgstore.RoleWorker}, missing)
	assert.Contains(t, logged.String(), "lacks CREATEROLE", "and the process says why")
}

func zerologTo(b *strings.Builder) zerolog.Logger { return zerolog.New(b) }
