package pgstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/local/pgcluster"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/pgstore"
	"github.com/numbers-app/numbers/shared/testenv"
)

// privateCluster starts a Postgres cluster of this test's own, which it may
// restart, stop or reconfigure.
func privateCluster(t *testing.T, opts pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	opts.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	opts.DataDir, opts.Fast = t.TempDir(), true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := pgcluster.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(pg.Stop)
	return pg
}

// everyKindOfWork runs each of the store's reads and writes once and
// returns the errors, by operation.
func everyKindOfWork(ctx context.Context, s *pgstore.Store, i int) map[string]error {
	errs := map[string]error{}
	sub := sub(int64(i), time.Now())
	if _, err := s.Insert(ctx, []number.Submission{sub}); err != nil {
		errs["insert"] = err
	}
	if _, err := s.Get(ctx, sub.ID); err != nil {
		errs["get"] = err
	}
	if _, _, err := s.List(ctx, number.Page{Limit: 5}); err != nil {
		errs["list"] = err
	}
	if _, err := s.Count(ctx); err != nil {
		errs["count"] = err
	}
	if _, _, err := s.Claim(ctx, fmt.Sprintf("key-%d-%d", i, time.Now().UnixNano()), sub, time.Hour); err != nil {
		errs["claim"] = err
	}
	if _, err := s.StatsFigures(ctx, time.Now()); err != nil {
		errs["stats"] = err
	}
	if err := s.Ping(ctx); err != nil {
		errs["ping"] = err
	}
	return errs
}

// fillPool holds n connections at once (each used, then all released
// together), so the pool keeps n idle ones.
func fillPool(t *testing.T, s *pgstore.Store, n int) {
	t.Helper()
	ctx := context.Background()
	conns := make([]*sql.Conn, 0, n)
	for range n {
		c, err := s.DB().DB.Conn(ctx)
		require.NoError(t, err)
		_, err = c.ExecContext(ctx, "SELECT 1")
		require.NoError(t, err)
		conns = append(conns, c)
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	require.Equal(t, n, s.DB().Stats().Idle, "the pool holds %d idle connections", n)
}

func TestNoErrorOnceARestartedDatabaseAnswers(t *testing.T) {
	t.Parallel()
	pg := privateCluster(t, pgcluster.Options{})
	const conns = 8
	s, err := pgstore.Open(pgstore.Config{URL: pg.URL(), MaxConns: conns})
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	_, err = s.Migrate(ctx)
	require.NoError(t, err)

	// Sequential work first, then concurrent work, each after a fresh
	// restart with a full pool of idle connections the restart broke.
	fillPool(t, s, conns)
	require.NoError(t, pg.Restart(ctx), "fast shutdown and start")
	failed := 0
	for i := range 3 * conns {
		for op, err := range everyKindOfWork(ctx, s, i) {
			failed++
			t.Errorf("sequential %s #%d after the restart: %v", op, i, err)
		}
	}
	assert.Zero(t, failed, "sequential work after the restart")
	t.Logf("sequential: %d operations after a restart that broke %d idle connections: %d failed", 3*conns*7, conns, failed)

	fillPool(t, s, conns)
	require.NoError(t, pg.Restart(ctx), "fast shutdown and start")
	var mu sync.Mutex
	failed = 0
	var wg sync.WaitGroup
	for g := range 2 * conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				for op, err := range everyKindOfWork(ctx, s, g*10+i) {
					mu.Lock()
					failed++
					mu.Unlock()
					t.Errorf("concurrent %s (goroutine %d) after the restart: %v", op, g, err)
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, failed, "concurrent work after the restart")
	t.Logf("concurrent: %d goroutines × %d operations after a restart that broke %d idle connections: %d failed", 2*conns, 3*7, conns, failed)
}

// One event (a failover, a rotation's pg_terminate_backend) ends every
// session at once, and the store learns it connection by connection: the
// idle check can only see what has arrived, and the connections in use
// come back to the pool after the retry dropped the idle ones. Here the
// check sees nothing, and each of the pool's connections comes back just
// before the next attempt, so every attempt but the last meets one the
// event ended. The retry must outlast them all.
func TestARetryOutlastsEveryConnectionTheSameEventEnded(t *testing.T) {
	t.Parallel()
	pg := privateCluster(t, pgcluster.Options{})
	const conns = 4
	ctx := context.Background()
	var held []*sql.Conn
	var returned int
	giveBackOne := func() { // between the drop of the idle ones and the next attempt
		if returned < len(held) {
			require.NoError(t, held[returned].Close())
			returned++
		}
	}
	s, err := pgstore.OpenBlindToIdleBreaks(pgstore.Config{URL: pg.URL(), MaxConns: conns}, giveBackOne)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Migrate(ctx)
	require.NoError(t, err)

	pids := make([]int, conns)
	for i := range conns {
		c, err := s.DB().DB.Conn(ctx)
		require.NoError(t, err)
		require.NoError(t, c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pids[i]))
		held = append(held, c)
	}
	admin := testenv.OpenDB(t, pg.URL())
	for _, pid := range pids {
		var ok bool
		require.NoError(t, admin.QueryRowContext(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok))
		require.True(t, ok, "session %d ended", pid)
	}
	testenv.Eventually(t, time.Minute, "the ended sessions are gone", func() bool {
		for _, pid := range pids {
			var n int
			require.NoError(t, admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n))
			if n > 0 {
				return false
			}
		}
		return true
	})

	giveBackOne() // the first attempt's connection
	n, err := s.Count(ctx)
	require.NoError(t, err, "a read after an event that ended all %d connections", conns)
	assert.Zero(t, n)
	assert.Equal(t, conns, returned, "every connection the event ended was met (else the test proves less)")
}
