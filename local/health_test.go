package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/testenv"
)

// A database that hangs (every Postgres process stopped: it accepts TCP
// connections and answers nothing) must not take the write path down: the
// load balancer's health check and the proxy's readiness answer 200, POSTs
// get 202, and every 202 is stored once the database answers again.
func TestFaultPostgresHangingKeepsTheHealthCheckAndWritesUp(t *testing.T) {
	pg := ownPostgres(t)
	s := startSystemWith(t, sysOpts{DatabaseURL: pg.URL(), Visibility: 5 * time.Second})

	require.NoError(t, pg.Pause(), "stop every Postgres process")
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			require.NoError(t, pg.Resume())
		}
	}
	defer resume()

	// An ALB gives its health check 5 s by default; this client allows
	// more so a busy machine does not fail the test: the assertion is that
	// it answers, and with what.
	client := &http.Client{Timeout: 8 * time.Second}
	var slowest time.Duration
	for range 5 {
		start := time.Now()
		resp, err := client.Get(s.URL + "/healthz")
		require.NoError(t, err, "the health check answers while Postgres hangs")
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		slowest = max(slowest, time.Since(start))
	}
	start := time.Now()
	code, ready := testenv.GetReadiness(t, client, s.URL, "readiness answers while Postgres hangs")
	readyTook := time.Since(start)
	assert.Equal(t, http.StatusOK, code, "the proxy can accept writes")
	assert.Equal(t, "unavailable", ready.Checks["postgres"], "and says Postgres is not answering")

	l := runLoad(t, s.URL, 20, 2*time.Second)
	assert.Equal(t, 40, l.statuses[http.StatusAccepted], "every POST is accepted while Postgres hangs: %v", l.statuses)
	t.Logf("Postgres stopped: /healthz slowest %s, /readyz %s, POSTs %v", slowest.Round(time.Millisecond),
		readyTook.Round(time.Millisecond), l.statuses)

	resume()
	assertEvery202StoredOnce(t, s, l, 90*time.Second)
}
