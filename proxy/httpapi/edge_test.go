package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
}

func TestRateLimitIsPerClientWithRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEdge(EdgeConfig{RatePerClient: 2, Burst: 3}, func() time.Time { return now })
	h := e.wrap(okHandler())
	call := func(addr, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 3; i++ {
		assert.Equal(t, http.StatusOK, call("10.0.0.1:1000", "/api/values").Code, "within the burst")
	}
	rec := call("10.0.0.1:1001", "/api/values")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "a fourth request at once is refused, whatever the port")
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Contains(t, rec.Body.String(), `"error"`)
	assert.Equal(t, http.StatusOK, call("10.0.0.2:1000", "/api/values").Code, "another client has its own bucket")
	assert.Equal(t, http.StatusOK, call("10.0.0.1:1000", "/healthz").Code, "health checks are not limited")
	now = now.Add(500 * time.Millisecond)
	assert.Equal(t, http.StatusOK, call("10.0.0.1:1000", "/api/values").Code, "a token is back after 1/rate")
}

func TestForwardedForIsUsedOnlyWhenTrusted(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/api/values", nil)
	req.RemoteAddr = "10.0.0.9:443"
	req.Header.Set("X-Forwarded-For", "1.2.3.4, 5.6.7.8")
	assert.Equal(t, "10.0.0.9", newEdge(EdgeConfig{}, time.Now).clientKey(req))
	assert.Equal(t, "5.6.7.8", newEdge(EdgeConfig{TrustForwardedFor: true}, time.Now).clientKey(req), "the address the ALB appended")
}

func TestCORSAllowsOnlyListedOrigins(t *testing.T) {
	h := newEdge(EdgeConfig{AllowedOrigins: []string{"https://app.example.com/"}}, time.Now).wrap(okHandler())
	pre := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, "/api/values", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := pre("https://app.example.com")
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, "https://app.example.com", rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Idempotency-Key")

	rec = pre("https://evil.example.com")
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))

	req := httptest.NewRequest(http.MethodGet, "/api/values", nil)
	req.Header.Set("Origin", "https://evil.example.com")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "the browser will refuse the answer")
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
}
