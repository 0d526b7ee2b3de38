package httpapi

import (
	"net/http"
	"time"
)

// RequestObserver receives one call per HTTP request, with the route
// pattern that served it ("GET /api/values/{id}"; "other" for unknown
// paths), so the label set stays bounded.
type RequestObserver interface {
	ObserveRequest(route string, code int, took time.Duration)
}

// withMetrics observes each request after the mux has set r.Pattern.
func (a *API) withMetrics(next http.Handler) http.Handler {
	if a.deps.Metrics == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" || route == "/" {
				route = "other"
			}
			code := rec.status
			if code == 0 {
				code = http.StatusInternalServerError // the handler panicked
			}
			a.deps.Metrics.ObserveRequest(route, code, time.Since(start))
		}()
		next.ServeHTTP(rec, r)
	})
}
