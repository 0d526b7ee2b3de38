package httpapi

import (
	"net/http"
	"time"
)

// RequestObserver receives one call per HTTP request, with the route
// pattern that served it or would have ("GET /api/values/{id}", also for
// a 429 answered before routing; the pattern's path, "/api/values", for a
// method no route of a known path serves, as a 405 or a CORS preflight;
// "other" for unknown paths), so the label set stays bounded.
type RequestObserver interface {
	ObserveRequest(route string, code int, took time.Duration)
}

// routeName is the pattern that served r or would have, for metrics: the
// mux (route, for the write) sets r.Pattern; a request answered before
// routing (a 429, a CORS preflight) is looked up; a method no route serves
// on a known path (a 405) is the path of the path's routes; unknown paths
// are "other".
func (a *API) routeName(r *http.Request) string {
	route := r.Pattern
	if route == "" {
		_, route = a.mux.Handler(r)
	}
	if route == "" || route == "/" {
		route = "other"
		if _, path := a.pathRoutes(r); path != "" {
			route = path
		}
	}
	return route
}
