package main

// The database that answers but refuses writes (an RDS Multi-AZ or Aurora
// failover looks like this for a while): the worker must hold what it has
// and stop receiving, not burn accepted numbers into the dead-letter queue.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/testenv"
)

// setReadOnly makes every session of the cluster read-only (or writable
// again) at its next transaction, as a failover does: ALTER SYSTEM and a
// configuration reload. Cluster-wide: only on a private cluster.
func setReadOnly(t *testing.T, adminURL string, on bool) {
	t.Helper()
	db := testenv.OpenDB(t, adminURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stmt := "ALTER SYSTEM RESET default_transaction_read_only"
	if on {
		stmt = "ALTER SYSTEM SET default_transaction_read_only = on"
	}
	_, err := db.ExecContext(ctx, stmt)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "SELECT pg_reload_conf()")
	require.NoError(t, err)
}

func TestFaultPostgresRefusingWritesLongerThanTheRedrivePolicyAllowsSendsNothingToTheDLQ(t *testing.T) {
	pg := ownPostgres(t)
	// maxReceiveCount 2 x visibility 3s = 6s: a read-only spell of well over
	// that would push every message into the DLQ if the worker kept
	// receiving while its inserts fail with SQLSTATE 25006.
	const maxReceive, visibility = 2, 3 * time.Second
	s := startSystemWith(t, sysOpts{DatabaseURL: pg.URL(), MaxReceive: maxReceive, Visibility: visibility})

	// The worker is up and has migrated: one number goes through.
	first := runLoad(t, s.URL, 1, time.Second)
	assertEvery202StoredOnce(t, s, first, 60*time.Second)

	setReadOnly(t, pg.AdminURL(), true)
	readOnlySince := time.Now()
	t.Cleanup(func() { setReadOnly(t, pg.AdminURL(), false) })
	l := runLoad(t, s.URL, 50, 4*time.Second)
	assert.Equal(t, 200, len(l.accepted), "writes are accepted while Postgres refuses them: they wait in the queue")

	// Stay read-only for five times maxReceiveCount x visibility, counted
	// from the last POST.
	time.Sleep(5 * maxReceive * visibility)
	stored := storedIDs(t, s)
	for id := range l.accepted {
		require.NotContains(t, stored, id, "nothing is stored while the database refuses writes (the fault is real)")
	}
	dead, err := s.Queues.DLQ.Stats(context.Background())
	require.NoError(t, err)
	assert.Zero(t, dead.Visible+dead.InFlight, "nothing reached the DLQ during the read-only spell")
	t.Logf("read-only for %s (maxReceiveCount x visibility = %s)", time.Since(readOnlySince).Round(time.Second), maxReceive*visibility)

	setReadOnly(t, pg.AdminURL(), false)
	assertEvery202StoredOnce(t, s, l, 90*time.Second)
}
