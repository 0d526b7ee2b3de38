package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// A client that sends X-Forwarded-For lines of its own, varying them on each
// request, is still one client: the ALB's entry (on the last line) is the
// key. The bucket refills once in 1000 s, so no request of the test gets a
// new token, however slow the machine.
func TestRateLimitKeysOnTheALBEntryWhenXForwardedForIsSplitOverLines(t *testing.T) {
	t.Parallel()
	s := realServer(t, map[string]string{
		"RATE_LIMIT_PER_CLIENT": "0.001", "RATE_LIMIT_BURST": "3", "TRUST_FORWARDED_FOR": "true",
	})
	call := func(i int, alb string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/values", nil)
		req.RemoteAddr = "10.0.1.15:41234"
		req.Header.Add("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i))
		req.Header.Add("X-Forwarded-For", alb)
		rec := httptest.NewRecorder()
		s.API.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 3; i++ {
		rec := call(i, "198.51.100.7")
		require.Equal(t, http.StatusOK, rec.Code, "request %d is within the burst: %s", i, rec.Body)
	}
	rec := call(3, "198.51.100.7")
	requireJSONError(t, rec, http.StatusTooManyRequests, "the fourth request of one client, whatever its first line says")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	rec = call(4, "198.51.100.8")
	require.Equal(t, http.StatusOK, rec.Code, "another client the ALB saw has its own bucket: %s", rec.Body)
}
