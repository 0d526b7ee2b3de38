package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// After a fast restart of Postgres, once it answers again, no client sees an
// error: the proxy's pooled connections that the restart broke are found
// before use or retried on fresh ones, sequentially and concurrently, for
// reads and for keyed writes (which claim their key in Postgres).
func TestFaultNoClientErrorOnceARestartedPostgresAnswers(t *testing.T) {
	pg := ownPostgres(t)
	s := startSystemWith(t, sysOpts{DatabaseURL: pg.URL()})
	client := &http.Client{Timeout: 20 * time.Second}
	l := runLoad(t, s.URL, 50, time.Second)
	assertEvery202StoredOnce(t, s, l, 30*time.Second)
	var anID string
	for id := range l.accepted {
		anID = id
		break
	}

	var seq atomic.Int64 // distinct values: the load's checks count rows per value
	status := func(method, path, key string) int {
		req, err := http.NewRequest(method, s.URL+path, nil)
		require.NoError(t, err)
		if method == http.MethodPost {
			req, err = http.NewRequest(method, s.URL+path, strings.NewReader(fmt.Sprintf(`{"value": %d}`, 7_000_000+seq.Add(1))))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// fillPool makes the proxy hold many connections at once, then idle.
	fillPool := func() {
		var wg sync.WaitGroup
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status(http.MethodGet, "/api/values?limit=500", "")
			}()
		}
		wg.Wait()
	}
	work := func(round, i int) map[string]int {
		return map[string]int{
			"list":      status(http.MethodGet, "/api/values?limit=10", ""),
			"get":       status(http.MethodGet, "/api/values/"+anID, ""),
			"stats":     status(http.MethodGet, "/api/stats", ""),
			"keyed-put": status(http.MethodPost, "/api/values", fmt.Sprintf("restart-%d-%d", round, i)),
		}
	}
	want := map[string]int{"list": 200, "get": 200, "stats": 200, "keyed-put": 202}

	fillPool()
	require.NoError(t, pg.Restart(context.Background()), "fast shutdown, then start")
	bad := 0
	for i := range 20 {
		for op, code := range work(1, i) {
			if code != want[op] {
				bad++
				t.Errorf("sequential %s #%d after the restart: %d", op, i, code)
			}
		}
	}
	assert.Zero(t, bad, "sequential requests after the restart")
	badSequential := bad

	fillPool()
	require.NoError(t, pg.Restart(context.Background()), "fast shutdown, then start")
	var mu sync.Mutex
	bad = 0
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				for op, code := range work(2, g*10+i) {
					if code != want[op] {
						mu.Lock()
						bad++
						mu.Unlock()
						t.Errorf("concurrent %s after the restart: %d", op, code)
					}
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, bad, "concurrent requests after the restart")
	t.Logf("after a restart, %d sequential requests: %d failed; after another, %d concurrent: %d failed",
		20*4, badSequential, 20*3*4, bad)

	after := runLoad(t, s.URL, 50, time.Second)
	assertEvery202StoredOnce(t, s, after, 60*time.Second)
}
