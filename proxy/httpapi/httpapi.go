// Package httpapi is the HTTP edge of numbers: one http.Handler that the
// proxy serves on ECS and the HTTP Lambda serves on AWS Lambda. It validates
// writes and enqueues them, reads straight from the store, and maps domain
// errors to status codes in one place.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/shared/number"
)

// MaxBodyBytes caps a request body.
const MaxBodyBytes = 4 << 10

// DefaultMaxInflightWrites is the default for Deps.MaxInflightWrites.
const DefaultMaxInflightWrites = 1024

// validKey accepts 1..255 visible ASCII characters.
func validKey(k string) bool {
	if len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// LegacyAllLimit caps GET /api/values/all, which has no pagination.
const LegacyAllLimit = 1000

// Check is a readiness check of one dependency.
type Check func(ctx context.Context) error

// Deps are what the handler needs. Enqueuer, Reader and Log are required.
type Deps struct {
	// Enqueuer must bound its own wait (sqsqueue.Publisher answers within
	// its SendTimeout of a Send): a write without an Idempotency-Key is
	// given no deadline (Timeout).
	Enqueuer number.Enqueuer
	Reader   number.Reader
	// Timeout is the deadline of a request's context, so that a dependency
	// that hangs (a Postgres that accepts connections and never answers)
	// ends in a 503 + Retry-After before the server's write timeout drops
	// the answer. 0: none. A write without an Idempotency-Key, whose only
	// wait is the Enqueuer's, gets none: every write passes there, and a
	// deadline cost 2-4% of the proxy's CPU (a timer, and a child context
	// registered with net/http's; docs/benchmarks.md).
	Timeout time.Duration
	// SyncWriter, when set, makes POST insert straight into the store and
	// answer 201: the synchronous baseline the original app had, kept for
	// benchmarks. Leave nil in production.
	SyncWriter number.Writer
	// MaxInflightWrites bounds POSTs being processed at once; beyond it the
	// API answers 503 at once instead of piling up goroutines and memory.
	// Defaults to DefaultMaxInflightWrites.
	MaxInflightWrites int
	// Edge configures CORS and per-client rate limiting.
	Edge EdgeConfig
	// Keys, when set, honours the Idempotency-Key header for KeyWindow
	// (defaults to number.DefaultKeyWindow).
	Keys      number.KeyStore
	KeyWindow time.Duration
	// Checks are what readiness (GET /readyz) requires, by name: the
	// dependencies of the write path. Reported are run by /readyz too and
	// reported in its body without failing it (Postgres: reads need it,
	// accepting writes does not).
	Checks   map[string]Check
	Reported map[string]Check
	Log      zerolog.Logger
	// Stats feed GET /api/stats; Metrics, when set, observes every request;
	// MetricsHandler, when set, serves GET /metrics.
	Stats          StatsSources
	Metrics        RequestObserver
	MetricsHandler http.Handler
	// Now defaults to time.Now; NewID to UUIDv7.
	Now   func() time.Time
	NewID func() (string, error)
}

// API is the handler. Create it with New.
type API struct {
	deps     Deps
	mux      *http.ServeMux
	draining atomic.Bool
	// writes counts the POSTs in flight, against Deps.MaxInflightWrites: an
	// atomic rather than a channel semaphore, whose two channel operations
	// take a lock each on every write.
	writes  atomic.Int64
	stats   *statsCache
	handler http.Handler
}

// New builds the handler.
func New(d Deps) (*API, error) {
	if d.Enqueuer == nil || d.Reader == nil {
		return nil, errors.New("httpapi: Enqueuer and Reader are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = func() (string, error) {
			id, err := uuid.NewV7()
			return id.String(), err
		}
	}
	if d.KeyWindow == 0 {
		d.KeyWindow = number.DefaultKeyWindow
	}
	if d.MaxInflightWrites == 0 {
		d.MaxInflightWrites = DefaultMaxInflightWrites
	}
	if d.MaxInflightWrites < 0 {
		return nil, fmt.Errorf("httpapi: MaxInflightWrites must not be negative, got %d", d.MaxInflightWrites)
	}
	a := &API{deps: d, mux: http.NewServeMux()}
	a.mux.HandleFunc(postValues, a.postValue) // for pathRoutes: route serves it first
	a.mux.HandleFunc("GET /api/values", a.listValues)
	a.mux.HandleFunc("GET /api/values/all", a.legacyAll)
	a.mux.HandleFunc("GET /api/values/{id}", a.getValue)
	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.HandleFunc("GET /readyz", a.readyz)
	a.mux.HandleFunc("GET /api/stats", a.getStats)
	if d.MetricsHandler != nil {
		a.mux.Handle("GET /metrics", d.MetricsHandler)
	}
	a.mux.HandleFunc("GET /{$}", servePage)
	a.mux.HandleFunc("GET /assets/{name}", serveAsset)
	a.mux.HandleFunc("/", a.noRoute)
	a.stats = newStatsCache(d.Stats, d.Now)
	a.handler = a.observe(newEdge(d.Edge, d.Now).wrap(http.HandlerFunc(a.route)))
	return a, nil
}

// postValues is the pattern of the write route.
const postValues = "POST /api/values"

// route serves the write without ServeMux's match (every write passes
// here; the match was 3% of the proxy's CPU), the rest through the mux.
func (a *API) route(w http.ResponseWriter, r *http.Request) {
	if isWrite(r) {
		r.Pattern = postValues // what the mux would set, for the metrics
		a.postValue(w, r)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// boundsItself says whether r waits only on the Enqueuer, which bounds its
// own wait: a write without an Idempotency-Key, not the synchronous
// baseline's.
func (a *API) boundsItself(r *http.Request) bool {
	return isWrite(r) && a.deps.SyncWriter == nil && (a.deps.Keys == nil || r.Header.Get("Idempotency-Key") == "")
}

// isWrite says whether r is exactly what the mux would serve as the write:
// POST /api/values, not an escaped form of it such as /api%2Fvalues (the
// mux matches escaped segments, and answers that one 404).
func isWrite(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/api/values" && r.URL.RawPath == ""
}

// noRoute answers what no route serves: 405 with Allow when the path has
// routes for other methods, else 404.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	allow, _ := a.pathRoutes(r)
	if len(allow) == 0 {
		writeError(w, r, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
}

// pathRoutes is what the routes offer r's path whatever its method: the
// methods they serve it with, and the path of their pattern
// ("/api/values/{id}"); none and "" when no route has the path.
func (a *API) pathRoutes(r *http.Request) (methods []string, path string) {
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "" && pattern != "/" {
			methods = append(methods, m)
			_, path, _ = strings.Cut(pattern, " ")
		}
	}
	return methods, path
}

// SetDraining makes /readyz fail so a load balancer stops sending traffic
// before the server shuts down.
func (a *API) SetDraining() { a.draining.Store(true) }

// ServeHTTP adds request ids, metrics, logging and panic recovery around the
// routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.handler.ServeHTTP(w, r)
}

// valueView is a stored number in responses. Value is an exact JSON number;
// JavaScript's JSON.parse rounds integers beyond 2^53, so value_text carries
// the same value as a string for such clients.
type valueView struct {
	ID         string    `json:"id"`
	Value      int64     `json:"value"`
	ValueText  string    `json:"value_text"`
	Status     string    `json:"status"`
	AcceptedAt time.Time `json:"accepted_at"`
	StoredAt   time.Time `json:"stored_at"`
}

func view(n number.Number) valueView {
	return valueView{ID: n.ID, Value: n.Value, ValueText: strconv.FormatInt(n.Value, 10), Status: "stored",
		AcceptedAt: n.AcceptedAt, StoredAt: n.StoredAt}
}

func (a *API) postValue(w http.ResponseWriter, r *http.Request) {
	if !a.admitWrite() {
		a.fail(w, r, fmt.Errorf("%w: %d writes in flight", number.ErrOverloaded, a.deps.MaxInflightWrites))
		return
	}
	defer a.writes.Add(-1)
	v, status, err := decodeValue(w, r)
	if err != nil {
		writeError(w, r, status, err.Error())
		return
	}
	id, err := a.deps.NewID()
	if err != nil {
		a.fail(w, r, fmt.Errorf("new id: %w", err))
		return
	}
	sub := number.Submission{ID: id, Value: v, AcceptedAt: number.Truncate(a.deps.Now()), RequestID: RequestID(r.Context())}
	if key := r.Header.Get("Idempotency-Key"); key != "" && a.deps.Keys != nil {
		if !validKey(key) {
			writeError(w, r, http.StatusBadRequest, "Idempotency-Key must be 1 to 255 visible ASCII characters")
			return
		}
		// A replayed key re-sends the first submission (same id): if the
		// first request's send failed, this one completes it; if it
		// succeeded, the worker stores the id once.
		bound, replayed, err := a.deps.Keys.Claim(r.Context(), key, sub, a.deps.KeyWindow)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		sub, id = bound, bound.ID
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
			// Stored already: nothing to send again, and the answer says so.
			// (When the store cannot tell, the send below is harmless.)
			if _, err := a.deps.Reader.Get(r.Context(), id); err == nil {
				code := http.StatusAccepted
				if a.deps.SyncWriter != nil {
					code = http.StatusCreated
				}
				answerWrite(w, code, id, "stored")
				return
			}
		}
	}
	if a.deps.SyncWriter != nil {
		if _, err := a.deps.SyncWriter.Insert(r.Context(), []number.Submission{sub}); err != nil {
			a.fail(w, r, err)
			return
		}
		answerWrite(w, http.StatusCreated, id, "stored")
		return
	}
	if err := a.deps.Enqueuer.Enqueue(r.Context(), sub); err != nil {
		a.fail(w, r, err)
		return
	}
	answerWrite(w, http.StatusAccepted, id, "queued")
}

// admitWrite takes a place among the MaxInflightWrites, or reports that
// none is free. A refused write never holds one, not even while its 503 is
// logged and written: a compare-and-swap, not an add then a check.
func (a *API) admitWrite() bool {
	for {
		n := a.writes.Load()
		if n >= int64(a.deps.MaxInflightWrites) {
			return false
		}
		if a.writes.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (a *API) getValue(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !number.ValidID(id) {
		writeError(w, r, http.StatusBadRequest, "id must be a UUID in canonical lower-case form")
		return
	}
	n, err := a.deps.Reader.Get(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(n))
}

func (a *API) listValues(w http.ResponseWriter, r *http.Request) {
	page := number.Page{Limit: number.DefaultPageLimit, Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > number.MaxPageLimit {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d", number.MaxPageLimit))
			return
		}
		page.Limit = n
	}
	nums, next, err := a.deps.Reader.List(r.Context(), page)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := struct {
		Values     []valueView `json:"values"`
		NextCursor string      `json:"next_cursor,omitempty"`
	}{Values: make([]valueView, len(nums)), NextCursor: next}
	for i, n := range nums {
		out.Values[i] = view(n)
	}
	writeJSON(w, http.StatusOK, out)
}

// legacyAll answers what the original client reads: {"rows":[{"number":N}]},
// the newest LegacyAllLimit numbers. Each row also carries number_text, the
// same value as a string, as value_text does in the other reads: JSON.parse
// rounds numbers beyond 2^53.
func (a *API) legacyAll(w http.ResponseWriter, r *http.Request) {
	nums, _, err := a.deps.Reader.List(r.Context(), number.Page{Limit: LegacyAllLimit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	type legacyRow struct {
		Number     int64  `json:"number"`
		NumberText string `json:"number_text"`
	}
	out := struct {
		Rows []legacyRow `json:"rows"`
	}{Rows: make([]legacyRow, len(nums))}
	for i, n := range nums {
		out.Rows[i] = legacyRow{Number: n.Value, NumberText: strconv.FormatInt(n.Value, 10)}
	}
	writeJSON(w, http.StatusOK, out)
}

// healthz is liveness: the process serves HTTP. It checks no dependency,
// so a database or queue outage never gets a healthy proxy replaced (the
// load balancer's health check uses it). It stays 200 while draining: on
// ECS the load balancer stops routing to a stopping task by deregistering
// it; readiness reports the draining.
func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Readiness check bounds: a required check has readyTimeout; a reported
// one only reportTimeout, so a hanging database delays nothing much.
const (
	readyTimeout  = 2 * time.Second
	reportTimeout = time.Second
)

// readyz is readiness: this proxy can accept writes (not draining, and the
// required checks, the queue, pass). The reported checks (Postgres) are in
// the body, and do not fail it.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	if a.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	type result struct {
		name     string
		required bool
		err      error
	}
	results := make(chan result, len(a.deps.Checks)+len(a.deps.Reported))
	run := func(name string, check Check, required bool, timeout time.Duration) { //nolint:contextcheck // it derives from r.Context()
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		results <- result{name, required, check(ctx)}
	}
	for name, check := range a.deps.Checks {
		go run(name, check, true, readyTimeout)
	}
	for name, check := range a.deps.Reported {
		go run(name, check, false, reportTimeout)
	}
	checks := map[string]string{}
	ready := true
	for range len(a.deps.Checks) + len(a.deps.Reported) {
		res := <-results
		checks[res.name] = "ok"
		if res.err != nil {
			checks[res.name] = "unavailable"
			ev := Logger(r.Context(), a.deps.Log).Info()
			if res.required {
				ready = false
				ev = Logger(r.Context(), a.deps.Log).Warn()
			}
			ev.Err(res.err).Str("check", res.name).Bool("required", res.required).Msg("readiness check failed")
		}
	}
	if !ready {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": checks})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}
