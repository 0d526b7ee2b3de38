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
