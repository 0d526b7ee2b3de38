package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/proxy/httpapi"
	"github.com/numbers-app/numbers/shared/number"
)

// fakeEnqueuer records submissions, or fails with err.
type fakeEnqueuer struct {
	mu  sync.Mutex
	got []number.Submission
	err error
}

func (f *fakeEnqueuer) Enqueue(_ context.Context, s number.Submission) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, s)
	return nil
}

type fakeReader struct{ nums map[string]number.Number }

func (f fakeReader) Get(_ context.Context, id string) (number.Number, error) {
	n, ok := f.nums[id]
	if !ok {
		return number.Number{}, number.ErrNotFound
	}
	return n, nil
}

func (f fakeReader) List(_ context.Context, p number.Page) ([]number.Number, string, error) {
	var out []number.Number
	for _, n := range f.nums {
		out = append(out, n)
	}
	return out, "", nil
}

func newAPI(t *testing.T, enq number.Enqueuer, checks map[string]httpapi.Check) *httpapi.API {
	t.Helper()
	api, err := httpapi.New(httpapi.Deps{
		Enqueuer: enq, Reader: fakeReader{nums: map[string]number.Number{}}, Checks: checks, Log: zerolog.Nop(),
		Now: func() time.Time { return time.Date(2026, 11, 27, 8, 0, 0, 123456789, time.UTC) },
	})
	require.NoError(t, err)
	return api
}

func post(api http.Handler, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/values", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	return rec
}

func TestPostAcceptsIntegersAsNumbersOrCanonicalStrings(t *testing.T) {
	good := map[string]int64{
		`{"value": 42}`:                     42,
		`{"value":"42"}`:                    42,
		`{"value": 0}`:                      0,
		`{"value": -7}`:                     -7,
		`{"value": 9223372036854775807}`:    math.MaxInt64,
		`{"value": -9223372036854775808}`:   math.MinInt64,
		`{"value": "9223372036854775807"}`:  math.MaxInt64,
		`{"value": "-9223372036854775808"}`: math.MinInt64,
		" \n{\"value\": 5}\n ":              5,
	}
	for body, want := range good {
		enq := &fakeEnqueuer{}
		rec := post(newAPI(t, enq, nil), "application/json; charset=utf-8", body)
		require.Equal(t, http.StatusAccepted, rec.Code, "%s: %s", body, rec.Body)
		var resp map[string]string
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
		assert.Equal(t, "queued", resp["status"])
		require.Len(t, enq.got, 1)
		assert.Equal(t, want, enq.got[0].Value, body)
		assert.Equal(t, resp["id"], enq.got[0].ID, "the id answered is the id enqueued")
		assert.Equal(t, "/api/values/"+resp["id"], rec.Header().Get("Location"))
		assert.Equal(t, rec.Header().Get("X-Request-Id"), enq.got[0].RequestID, "the request id travels with the event")
		assert.Equal(t, time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC), enq.got[0].AcceptedAt, "accepted_at kept to the microsecond")
	}
}

func TestPostRejectsMalformedInputAndEnqueuesNothing(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		says                    string
	}{
		{"an empty body", "application/json", "", 400, "empty"},
		{"a body of spaces", "application/json", "   ", 400, "empty"},
		{"not JSON", "application/json", "hello", 400, "not valid JSON"},
		{"truncated JSON", "application/json", `{"value": 4`, 400, "not valid JSON"},
		{"JSON null", "application/json", `null`, 400, "got null"},
		{"a bare number", "application/json", `42`, 400, "got a JSON number"},
		{"a bare string", "application/json", `"42"`, 400, "got a JSON string"},
		{"an array", "application/json", `[42]`, 400, "got a JSON array"},
		{"a boolean body", "application/json", `true`, 400, "got a JSON bool"},
		{"an empty object", "application/json", `{}`, 400, `"value" is required`},
		{"a misspelt field", "application/json", `{"valeu": 1}`, 400, "unknown field"},
		{"an extra field", "application/json", `{"value": 1, "x": 2}`, 400, "unknown field"},
		{"two objects", "application/json", `{"value": 1}{"value": 2}`, 400, "after the JSON object"},
		{"a repeated field", "application/json", `{"value": 1, "value": 2}`, 400, "more than once"},
		{"a trailing comma", "application/json", `{"value": 1,}`, 400, "not valid JSON"},
		{"a missing colon", "application/json", `{"value" 1}`, 400, "not valid JSON"},
		{"garbage after the object", "application/json", `{"value": 1} x`, 400, "after the JSON object"},
		{"a repeated field spelt with an escape", "application/json", `{"value": 1, "\u0076alue": 2}`, 400, "more than once"},
		{"a null value", "application/json", `{"value": null}`, 400, "got null"},
		{"a true value", "application/json", `{"value": true}`, 400, "boolean"},
		{"a false value", "application/json", `{"value": false}`, 400, "boolean"},
		{"an array value", "application/json", `{"value": [1]}`, 400, "array"},
		{"an object value", "application/json", `{"value": {"n": 1}}`, 400, "object"},
		{"a float", "application/json", `{"value": 1.5}`, 400, "digits only"},
		{"a float with zero fraction", "application/json", `{"value": 1.0}`, 400, "digits only"},
		{"an exponent", "application/json", `{"value": 1e3}`, 400, "digits only"},
		{"a capital exponent", "application/json", `{"value": 1E3}`, 400, "digits only"},
		{"a negative exponent", "application/json", `{"value": 10e-1}`, 400, "digits only"},
		{"a number above int64", "application/json", `{"value": 9223372036854775808}`, 400, "out of the int64 range"},
		{"a number below int64", "application/json", `{"value": -9223372036854775809}`, 400, "out of the int64 range"},
		{"a huge number", "application/json", `{"value": 1` + strings.Repeat("0", 40) + `}`, 400, "out of the int64 range"},
		{"a string above int64", "application/json", `{"value": "9223372036854775808"}`, 400, "out of the int64 range"},
		{"an empty string", "application/json", `{"value": ""}`, 400, "must be an integer"},
		{"a string with spaces", "application/json", `{"value": " 42 "}`, 400, "digits only"},
		{"a string with a plus", "application/json", `{"value": "+42"}`, 400, "digits only"},
		{"a string with leading zeros", "application/json", `{"value": "007"}`, 400, "leading zeros"},
		{"negative zero", "application/json", `{"value": "-0"}`, 400, "negative zero"},
		{"a string float", "application/json", `{"value": "4.2"}`, 400, "digits only"},
		{"a hex string", "application/json", `{"value": "0x2A"}`, 400, "digits"},
		{"words", "application/json", `{"value": "forty-two"}`, 400, "digits only"},
		{"NaN", "application/json", `{"value": NaN}`, 400, "not valid JSON"},
		{"Infinity", "application/json", `{"value": Infinity}`, 400, "not valid JSON"},
		{"a form post", "application/x-www-form-urlencoded", "value=42", 415, "application/json"},
		{"plain text", "text/plain", `{"value": 42}`, 415, "application/json"},
		{"a garbled content type", ";;;", `{"value": 42}`, 415, "application/json"},
		{"an oversize body", "application/json", `{"value": 1, "pad": "` + strings.Repeat("x", 5000) + `"}`, 413, "larger than"},
		{"an oversize whitespace body", "application/json", strings.Repeat(" ", 5000) + `{"value": 1}`, 413, "larger than"},
	}
	require.GreaterOrEqual(t, len(tests), 30)
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			enq := &fakeEnqueuer{}
			rec := post(newAPI(t, enq, nil), tt.contentType, tt.body)
			assert.Equal(t, tt.status, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var resp map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp), "the error is JSON")
			assert.Contains(t, resp["error"], tt.says)
			assert.Empty(t, enq.got, "nothing is enqueued")
		})
	}
}

func TestPostMapsQueueFailuresTo503WithRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		err   error
		retry string
	}{
		{fmt.Errorf("send: %w: connection refused at 10.0.0.1", number.ErrUnavailable), "5"},
		{fmt.Errorf("%w: too many", number.ErrOverloaded), "1"},
	} {
		rec := post(newAPI(t, &fakeEnqueuer{err: tc.err}, nil), "application/json", `{"value": 1}`)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, tc.retry, rec.Header().Get("Retry-After"))
		assert.NotContains(t, rec.Body.String(), "10.0.0.1", "internal details stay in the log")
	}
	rec := post(newAPI(t, &fakeEnqueuer{err: fmt.Errorf("boom at db.internal")}, nil), "application/json", `{"value": 1}`)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.NotContains(t, rec.Body.String(), "db.internal")
}

func TestReadyzReportsEachDependency(t *testing.T) {
	api := newAPI(t, &fakeEnqueuer{}, map[string]httpapi.Check{
		"postgres": func(context.Context) error { return nil },
		"sqs":      func(context.Context) error { return fmt.Errorf("%w: down", number.ErrUnavailable) },
	})
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.JSONEq(t, `{"status":"unavailable","checks":{"postgres":"ok","sqs":"unavailable"}}`, rec.Body.String())

	healthy := newAPI(t, &fakeEnqueuer{}, map[string]httpapi.Check{"postgres": func(context.Context) error { return nil }})
	rec = httptest.NewRecorder()
	healthy.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusOK, rec.Code)

	healthy.SetDraining()
	rec = httptest.NewRecorder()
	healthy.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "a draining proxy is not ready")
	rec = httptest.NewRecorder()
	healthy.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	assert.Equal(t, http.StatusOK, rec.Code, "but it is alive")
}

func TestRequestIDIsEchoedOrMade(t *testing.T) {
	api := newAPI(t, &fakeEnqueuer{}, nil)
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.Header.Set("X-Request-Id", "client-abc.1")
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	assert.Equal(t, "client-abc.1", rec.Header().Get("X-Request-Id"))

	req.Header.Set("X-Request-Id", "bad id with spaces\n")
	rec = httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	assert.Len(t, rec.Header().Get("X-Request-Id"), 36, "an unsafe id is replaced by a fresh one")
}

func TestGetValidatesTheID(t *testing.T) {
	api := newAPI(t, &fakeEnqueuer{}, nil)
	for path, want := range map[string]int{
		"/api/values/not-a-uuid":                           400,
		"/api/values/019ABC6E-8F2A-7C3D-9E1F-2A3B4C5D6E7F": 400,
		"/api/values/019abc6e-8f2a-7c3d-9e1f-2a3b4c5d6e7f": 404,
		"/api/values?limit=0":                              400,
		"/api/values?limit=501":                            400,
		"/api/values?limit=x":                              400,
		"/api/nothing":                                     404,
	} {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, want, rec.Code, path)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), path)
	}
}

func TestThePageIsServedWithSecurityHeaders(t *testing.T) {
	api := newAPI(t, &fakeEnqueuer{}, nil)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `<label for="value">`)
	assert.NotEmpty(t, rec.Header().Get("Content-Security-Policy"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
}
