package measure

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The connections of one attack must not outlive it: a server that bounds
// open connections would count them against the next attack.
func TestAnAttacksConnectionsAreClosedWhenItIsReleased(t *testing.T) {
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()

	atk, release := NewAttacker(4, 0, 5*time.Second)
	target := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: srv.URL})
	answered := 0
	for res := range atk.Attack(target, vegeta.Rate{Freq: 200, Per: time.Second}, 250*time.Millisecond, "t") {
		if res.Code == http.StatusAccepted {
			answered++
		}
	}
	require.Positive(t, answered)
	require.Positive(t, open.Load(), "keep-alive connections stay open after the attack until released")

	release()
	assert.Eventually(t, func() bool { return open.Load() == 0 }, 10*time.Second, 10*time.Millisecond,
		"%d connections still open after release", open.Load())
}
