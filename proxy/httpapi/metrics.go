package httpapi

import (
	"net/http"
	"time"
)

// RequestObserver receives one call per HTTP request, with the route
// pattern that served it or would have ("GET /api/values/{id}", also for
// a 429 answered before routing; "other" for unknown paths and methods), so
// the label set stays bounded.
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
			if route == "" {
				// Answered before routing (a 429, a CORS preflight): count
				// it under the route it was for.
				_, route = a.mux.Handler(r)
			}
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
