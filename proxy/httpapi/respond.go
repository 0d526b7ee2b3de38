package httpapi

import (
	"context"
	"encoding/json"
	"encoding/json/jsontext"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/numbers-app/numbers/shared/number"
)

// fail maps an error to a status and a JSON body; details go to the log.
// This is the one table from domain errors to HTTP.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	log := Logger(r.Context(), a.deps.Log)
	switch {
	case errors.Is(err, number.ErrInvalid):
		msg, ok := number.ErrorMessage(err)
		if !ok {
			// Every ErrInvalid should be a *number.Error; say something
			// useful all the same, and leave the details to the log.
			log.Warn().Err(err).Msg("invalid input without a client message")
			msg = "the request is invalid"
		}
		writeError(w, r, http.StatusBadRequest, msg)
	case errors.Is(err, number.ErrKeyReused):
		writeError(w, r, http.StatusUnprocessableEntity, "this Idempotency-Key was already used with a different value")
	case errors.Is(err, number.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "no number with this id is stored (yet)")
	case errors.Is(err, number.ErrOverloaded):
		log.Warn().Err(err).Msg("shedding load")
		w.Header().Set("Retry-After", "1")
		writeError(w, r, http.StatusServiceUnavailable, "the service is busy: retry shortly")
	case errors.Is(err, number.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		log.Error().Err(err).Msg("dependency unavailable")
		w.Header().Set("Retry-After", "5")
		msg := "a dependency is unavailable: retry later"
		if r.Method == http.MethodPost {
			// A send that timed out may still have reached the queue, and
			// then the number is stored: the answer must not promise
			// otherwise. The key is what makes the retry safe.
			msg = "a dependency is unavailable and this write may or may not have been queued: " +
				"retry later with the same Idempotency-Key, which stores the number at most once"
		}
		writeError(w, r, http.StatusServiceUnavailable, msg)
	case errors.Is(err, context.Canceled):
		// The client went away; there is nobody to answer.
		log.Info().Err(err).Msg("request cancelled")
		writeError(w, r, 499, "request cancelled")
	default:
		log.Error().Err(err).Msg("internal error")
		writeError(w, r, http.StatusInternalServerError, "internal error")
	}
}

// Header values every answer carries, assigned to the header map under
// their canonical keys rather than through Header.Set, which canonicalizes
// the key and allocates a slice for the value on every request (a sixth
// of what setting and sending the write's five headers cost,
// BenchmarkPostValue). Nothing writes into a header's value slice:
// Header.Set and Del replace it, and Add appends to a new array (the
// capacity is the length).
var (
	contentTypeJSON = []string{"application/json"}
	cacheNoStore    = []string{"no-store"}
	noSniff         = []string{"nosniff"}
)

// setJSONHeaders marks an answer as JSON that no cache keeps.
func setJSONHeaders(h http.Header) {
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = cacheNoStore
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	setJSONHeaders(w.Header())
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// Error messages quote what the client sent ({"value": <integer>}):
	// keep < and > readable; the body is JSON, never HTML.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "request_id": RequestID(r.Context())})
}

type ctxKey struct{}

// reqInfo is what a request's context carries: its id, and the logger with
// that id, built on first use (most requests log nothing at the usual level).
type reqInfo struct {
	id   string
	base zerolog.Logger
	once sync.Once
	log  zerolog.Logger
}

func (ri *reqInfo) logger() *zerolog.Logger {
	ri.once.Do(func() { ri.log = ri.base.With().Str("request_id", ri.id).Logger() })
	return &ri.log
}

// RequestID returns the request id of ctx, or "".
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(ctxKey{}).(*reqInfo); ok {
		return ri.id
	}
	return ""
}

// Logger returns the request's logger (with its request id), or fallback.
func Logger(ctx context.Context, fallback zerolog.Logger) *zerolog.Logger {
	if ri, ok := ctx.Value(ctxKey{}).(*reqInfo); ok {
		return ri.logger()
	}
	return &fallback
}

// RequestIDFor returns the id of a request whose client sent clientID as
// its X-Request-Id (or "" for none): clientID when it may be kept
// (validRequestID), else a new UUID. Every answer carries it.
func RequestIDFor(clientID string) string {
	if validRequestID(clientID) {
		return clientID
	}
	return uuid.NewString()
}

// validRequestID reports whether a client's X-Request-Id may be kept: 1 to
// 64 of [A-Za-z0-9._-], safe in logs, headers and message attributes.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// statusRecorder remembers the status for the metrics and the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// observe wraps every request. It takes the client's X-Request-Id when it is
// sane or makes one, echoes it and puts it in the context, with the
// deadline Deps.Timeout unless the request bounds its own wait; it turns
// panics into a 500; and it counts the request in Deps.Metrics and logs it,
// from one status recorder and one clock reading.
func (a *API) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := RequestIDFor(r.Header.Get("X-Request-Id"))
		ri := &reqInfo{id: id, base: a.deps.Log}
		ctx := context.WithValue(r.Context(), ctxKey{}, ri)
		if a.deps.Timeout > 0 && !a.boundsItself(r) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, a.deps.Timeout)
			defer cancel()
		}
		r = r.WithContext(ctx)
		w.Header()["X-Request-Id"] = []string{id}
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				ri.logger().Error().Interface("panic", p).Msg("handler panicked")
				if rec.status == 0 {
					writeError(rec, r, http.StatusInternalServerError, "internal error")
				}
			}
			took := time.Since(start)
			code := rec.status
			if code == 0 {
				code = http.StatusOK // what net/http sends for a handler that wrote nothing
			}
			if a.deps.Metrics != nil {
				a.deps.Metrics.ObserveRequest(a.routeName(r), code, took)
			}
			ev := a.deps.Log.Debug()
			if code >= 400 {
				ev = a.deps.Log.Info()
			}
			ev.Str("request_id", id).Str("method", r.Method).Str("path", r.URL.Path).Int("status", code).
				Dur("took", took).Msg("request")
		}()
		next.ServeHTTP(rec, r)
	})
}

// answerWrite answers an accepted or stored write: Location and
// {"id": id, "status": status}, the bytes writeJSON would write, appended
// without reflection because every write passes here.
func answerWrite(w http.ResponseWriter, code int, id, status string) {
	w.Header()["Location"] = []string{"/api/values/" + id}
	b := make([]byte, 0, 32+len(id)+len(status))
	b = append(b, `{"id":`...)
	b, _ = jsontext.AppendQuote(b, id) // an id is a UUID: valid UTF-8
	b = append(b, `,"status":`...)
	b, _ = jsontext.AppendQuote(b, status)
	b = append(b, "}\n"...)
	setJSONHeaders(w.Header())
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
