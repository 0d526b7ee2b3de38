package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
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
		writeError(w, r, http.StatusServiceUnavailable, "a dependency is unavailable: nothing was stored or queued, retry later")
	case errors.Is(err, context.Canceled):
		// The client went away; there is nobody to answer.
		log.Info().Err(err).Msg("request cancelled")
		writeError(w, r, 499, "request cancelled")
	default:
		log.Error().Err(err).Msg("internal error")
		writeError(w, r, http.StatusInternalServerError, "internal error")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
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

type reqInfo struct {
	id  string
	log zerolog.Logger
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
		return &ri.log
	}
	return &fallback
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._\-]{1,64}$`)

// statusRecorder remembers the status for the access log.
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

// withRequestID takes the client's X-Request-Id when it is sane or makes
// one, echoes it, puts a logger carrying it in the context, logs the request
// and turns panics into a 500.
func (a *API) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		ri := &reqInfo{id: id, log: a.deps.Log.With().Str("request_id", id).Logger()}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				ri.log.Error().Interface("panic", p).Msg("handler panicked")
				if rec.status == 0 {
					writeError(rec, r, http.StatusInternalServerError, "internal error")
				}
			}
			ev := ri.log.Debug()
			if rec.status >= 400 {
				ev = ri.log.Info()
			}
			ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", rec.status).
				Dur("took", time.Since(start)).Msg("request")
		}()
		next.ServeHTTP(rec, r)
	})
}
