package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/proxy/httpapi"
	"github.com/numbers-app/numbers/proxy/server"
	"github.com/numbers-app/numbers/shared/config"
	"github.com/numbers-app/numbers/shared/number"
	"github.com/numbers-app/numbers/shared/testenv"
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

// realServer is the proxy's own wiring (proxy/server) on a fresh Postgres
// database and fresh queues of the local SQS server; env adds or overrides
// variables (RATE_LIMIT_PER_CLIENT, …).
func realServer(t testing.TB, env map[string]string) *server.Server {
	t.Helper()
	q := testenv.NewQueues(t, 3, 30*time.Second)
	environ := testenv.Environ(t, q, map[string]string{
		"SQS_SEND_LINGER":    "0s",
		"MIGRATE":            "true",
		"LOG_LEVEL":          "warn",
		"DB_MAX_CONNS":       "4",
		"IDEMPOTENCY_WINDOW": "24h",
	})
	maps.Copy(environ, env)
	var cfg server.Config
	if err := config.Parse(&cfg, environ); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := server.New(ctx, cfg, zerolog.Nop(), server.Options{MaxWait: time.Minute})
	if err != nil {
		t.Fatalf("build the proxy: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// errorBody is the JSON error every 4xx and 5xx carries.
type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

// requireJSONError checks rec is status with a JSON error body.
func requireJSONError(t testing.TB, rec *httptest.ResponseRecorder, status int, what string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("%s: body is not a JSON error (%v): %s", what, err, rec.Body)
	}
}

// serve answers one request without a body.
func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func get(h http.Handler, target string) *httptest.ResponseRecorder {
	return serve(h, http.MethodGet, target)
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

// A send that failed or timed out may still have reached the queue: the 503
// must not promise that nothing was queued, and must say how to retry safely.
func TestA503ForAWriteDoesNotPromiseItWasNotQueued(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("send: %w: timed out", number.ErrUnavailable),
		fmt.Errorf("wait for queue ack: %w", context.DeadlineExceeded),
	} {
		rec := post(newAPI(t, &fakeEnqueuer{err: err}, nil), "application/json", `{"value": 1}`)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		var resp map[string]string
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
		assert.NotContains(t, resp["error"], "nothing was")
		assert.Contains(t, resp["error"], "may or may not have been queued")
		assert.Contains(t, resp["error"], "Idempotency-Key")
	}
}

func TestReadyzReportsEachDependency(t *testing.T) {
	api := newAPI(t, &fakeEnqueuer{}, map[string]httpapi.Check{
		"postgres": func(context.Context) error { return nil },
		"sqs":      func(context.Context) error { return fmt.Errorf("%w: down", number.ErrUnavailable) },
	})
	rec := get(api, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.JSONEq(t, `{"status":"unavailable","checks":{"postgres":"ok","sqs":"unavailable"}}`, rec.Body.String())

	healthy := newAPI(t, &fakeEnqueuer{}, map[string]httpapi.Check{"postgres": func(context.Context) error { return nil }})
	rec = get(healthy, "/readyz")
	assert.Equal(t, http.StatusOK, rec.Code)

	healthy.SetDraining()
	rec = get(healthy, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "a draining proxy is not ready")
	rec = get(healthy, "/healthz")
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
		rec := get(api, path)
		assert.Equal(t, want, rec.Code, path)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), path)
	}
}

func TestThePageIsServedWithSecurityHeaders(t *testing.T) {
	api := newAPI(t, &fakeEnqueuer{}, nil)
	rec := get(api, "/")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `<label for="value">`)
	assert.NotEmpty(t, rec.Header().Get("Content-Security-Policy"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
}

func TestAWrongMethodOnAKnownPathIs405WithAllow(t *testing.T) {
	api := newAPI(t, &fakeEnqueuer{}, nil)
	cases := []struct {
		method, path, allow string
	}{
		{http.MethodPut, "/api/values", "GET, HEAD, POST"},
		{http.MethodDelete, "/api/values", "GET, HEAD, POST"},
		{http.MethodPatch, "/api/values/0193a8c0-0000-7000-8000-000000000001", "GET, HEAD"},
		{http.MethodPost, "/api/values/all", "GET, HEAD"},
		{http.MethodPost, "/healthz", "GET, HEAD"},
		{http.MethodDelete, "/", "GET, HEAD"},
	}
	for _, c := range cases {
		rec := serve(api, c.method, c.path)
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, "%s %s", c.method, c.path)
		assert.Equal(t, c.allow, rec.Header().Get("Allow"), "%s %s", c.method, c.path)
		assert.Contains(t, rec.Body.String(), `"error"`, "%s %s", c.method, c.path)
	}
	rec := serve(api, http.MethodPut, "/no/such/path")
	assert.Equal(t, http.StatusNotFound, rec.Code, "an unknown path stays 404")
	assert.Empty(t, rec.Header().Get("Allow"))
}

// The write is served before the mux, on exactly the path the mux would
// serve it on: an escaped slash is another path, which the mux answers 404.
func TestAnEscapedFormOfTheWritePathIsNotAWrite(t *testing.T) {
	enq := &fakeEnqueuer{}
	api := newAPI(t, enq, nil)
	req := httptest.NewRequest(http.MethodPost, "/api%2Fvalues", strings.NewReader(`{"value": 1}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	enq.mu.Lock()
	defer enq.mu.Unlock()
	assert.Empty(t, enq.got, "nothing enqueued")
}

// observer records what the metrics middleware reports.
type observer struct {
	mu   sync.Mutex
	got  map[string]int // "route code" -> count
	seen []observed     // in order
}

type observed struct {
	route string
	code  int
}

func (o *observer) ObserveRequest(route string, code int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got[route+" "+http.StatusText(code)]++
	o.seen = append(o.seen, observed{route, code})
}

func TestA429IsCountedUnderItsRoute(t *testing.T) {
	obs := &observer{got: map[string]int{}}
	api, err := httpapi.New(httpapi.Deps{
		Enqueuer: &fakeEnqueuer{}, Reader: fakeReader{nums: map[string]number.Number{}}, Log: zerolog.Nop(),
		Metrics: obs, Edge: httpapi.EdgeConfig{RatePerClient: 0.001, Burst: 1},
	})
	require.NoError(t, err)
	codes := map[int]int{}
	for i := 0; i < 3; i++ {
		codes[post(api, "application/json", `{"value": 1}`).Code]++
	}
	require.Equal(t, map[int]int{http.StatusAccepted: 1, http.StatusTooManyRequests: 2}, codes, "the burst is one request")
	assert.Equal(t, 2, obs.got["POST /api/values Too Many Requests"], "429s are counted under their route: %v", obs.got)
	assert.Zero(t, obs.got["other Too Many Requests"], "%v", obs.got)
}

func TestAMethodNoRouteServesIsCountedUnderThePathItHit(t *testing.T) {
	obs := &observer{got: map[string]int{}}
	api, err := httpapi.New(httpapi.Deps{
		Enqueuer: &fakeEnqueuer{}, Reader: fakeReader{nums: map[string]number.Number{}}, Log: zerolog.Nop(),
		Metrics: obs, Edge: httpapi.EdgeConfig{AllowedOrigins: []string{"*"}},
	})
	require.NoError(t, err)
	send := func(method, path string, header ...string) int {
		req := httptest.NewRequest(method, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		return rec.Code
	}
	require.Equal(t, http.StatusMethodNotAllowed, send(http.MethodPut, "/api/values"))
	require.Equal(t, http.StatusMethodNotAllowed, send(http.MethodDelete, "/api/values/0192f0c5-6e63-7b6a-9c3e-3c7f4e2b1a00"))
	require.Equal(t, http.StatusNoContent, send(http.MethodOptions, "/api/values",
		"Origin", "https://app.example.com", "Access-Control-Request-Method", "POST"))
	require.Equal(t, http.StatusNotFound, send(http.MethodGet, "/api/nothing"))

	assert.Equal(t, []observed{
		{"/api/values", http.StatusMethodNotAllowed},
		{"/api/values/{id}", http.StatusMethodNotAllowed},
		{"/api/values", http.StatusNoContent},
		{"other", http.StatusNotFound},
	}, obs.seen, "a known path's requests are counted under its route's path; only unknown paths are other")
}

// keys is a KeyStore over a map: the first claim binds, later ones replay.
type keys struct {
	mu    sync.Mutex
	bound map[string]number.Submission
}

func (k *keys) Claim(_ context.Context, key string, sub number.Submission, _ time.Duration) (number.Submission, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.bound[key]; ok {
		if b.Value != sub.Value {
			return number.Submission{}, false, number.ErrKeyReused
		}
		return b, true, nil
	}
	k.bound[key] = sub
	return sub, false, nil
}

func TestAReplayedKeySaysStoredOnceTheNumberIsStored(t *testing.T) {
	enq := &fakeEnqueuer{}
	reader := fakeReader{nums: map[string]number.Number{}}
	api, err := httpapi.New(httpapi.Deps{
		Enqueuer: enq, Reader: reader, Keys: &keys{bound: map[string]number.Submission{}}, Log: zerolog.Nop(),
	})
	require.NoError(t, err)
	send := func() (int, map[string]string, http.Header) {
		req := httptest.NewRequest(http.MethodPost, "/api/values", strings.NewReader(`{"value": 42}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "order-42")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		var out map[string]string
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		return rec.Code, out, rec.Header()
	}
	code, first, _ := send()
	require.Equal(t, http.StatusAccepted, code)
	assert.Equal(t, "queued", first["status"])

	code, again, hdr := send()
	assert.Equal(t, http.StatusAccepted, code)
	assert.Equal(t, first["id"], again["id"])
	assert.Equal(t, "true", hdr.Get("Idempotent-Replayed"))
	assert.Equal(t, "queued", again["status"], "not stored yet: queued (and sent again)")
	assert.Len(t, enq.got, 2)

	reader.nums[first["id"]] = number.Number{ID: first["id"], Value: 42}
	code, stored, hdr := send()
	assert.Equal(t, http.StatusAccepted, code)
	assert.Equal(t, first["id"], stored["id"])
	assert.Equal(t, "true", hdr.Get("Idempotent-Replayed"))
	assert.Equal(t, "/api/values/"+first["id"], hdr.Get("Location"))
	assert.Equal(t, "stored", stored["status"], "a replay of a stored number says so")
	assert.Len(t, enq.got, 2, "a stored number is not sent again")
}

func TestThePageShowsLoadingUntilTheFirstAnswerAndWritesAnASCIIMinus(t *testing.T) {
	api := newAPI(t, &fakeEnqueuer{}, nil)
	body := func(path string) string {
		rec := get(api, path)
		require.Equal(t, http.StatusOK, rec.Code, path)
		return rec.Body.String()
	}
	page := body("/")
	loading := regexp.MustCompile(`<p id="stored-loading"[^>]*>[^<]*Loading[^<]*</p>`).FindString(page)
	require.NotEmpty(t, loading, "the page has a loading line for the stored values")
	assert.NotContains(t, loading, "hidden", "it shows before the first fetch")
	js := body("/assets/app.js")
	assert.Regexp(t, `finally \{[^}]*\$\("stored-loading"\)\.hidden = true`, js, "the first answer, good or bad, hides it")

	assert.NotContains(t, page, "\u2212", "the page writes no U+2212 minus, which the API refuses")
	assert.Contains(t, page, "-9223372036854775808", "the hint writes the minimum as the API takes it")
	rec := post(api, "application/json", `{"value": "-9223372036854775808"}`)
	assert.Equal(t, http.StatusAccepted, rec.Code, "the minimum as the page writes it is accepted")
	rec = post(api, "application/json", `{"value": "\u22127"}`)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "ASCII hyphen-minus", "U+2212 is refused with the fix named")
	rec = post(api, "application/json", "{\"value\": \u22127}")
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "ASCII hyphen-minus", "a bare U+2212 number too is refused with the fix named")
}

type fakeStatsStore struct {
	calls int
	fig   number.Figures
}

func (f *fakeStatsStore) StatsFigures(context.Context, time.Time) (number.Figures, error) {
	f.calls++
	return f.fig, nil
}

func TestStatsAreCachedAndEstimateTheOldestMessage(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	store := &fakeStatsStore{fig: number.Figures{Count: 7, Exact: true,
		NewestAcceptedAt: now.Add(-3 * time.Second), RecentLag: 20 * time.Millisecond, RecentSamples: 7}}
	depth := 0
	queue := func(context.Context) (int, int, error) { return depth, 1, nil }
	obs := &observer{got: map[string]int{}}
	api, err := httpapi.New(httpapi.Deps{
		Enqueuer: &fakeEnqueuer{}, Reader: fakeReader{}, Log: zerolog.Nop(), Metrics: obs,
		Now:   func() time.Time { return now },
		Stats: httpapi.StatsSources{Store: store, Queue: queue, CacheFor: time.Second},
	})
	require.NoError(t, err)
	stats := func() map[string]any {
		rec := get(api, "/api/stats")
		require.Equal(t, http.StatusOK, rec.Code)
		var out map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		return out
	}

	s := stats()
	assert.EqualValues(t, 7, s["stored_count"])
	assert.EqualValues(t, 1, s["queue_depth"], "visible + in flight")
	assert.Nil(t, s["dlq_depth"], "no DLQ source: unknown, not zero")
	assert.Equal(t, []any{"dlq"}, s["unavailable"])
	assert.InDelta(t, 3.0, s["oldest_message_age_seconds"], 1e-9, "queue not empty: now - newest stored accepted_at")
	assert.InDelta(t, 0.02, s["worker_lag_seconds"], 1e-9)

	stats()
	assert.Equal(t, 1, store.calls, "a second read within CacheFor is served from the cache")
	now = now.Add(time.Second)
	stats()
	assert.Equal(t, 2, store.calls, "read again after CacheFor")
	assert.Equal(t, observed{"GET /api/stats", 200}, obs.seen[0], "requests are observed by route pattern")
}

// heldEnqueuer holds every Enqueue until release is closed, and says on
// entered when one has begun.
type heldEnqueuer struct {
	entered chan struct{}
	release chan struct{}
}

func (h heldEnqueuer) Enqueue(ctx context.Context, _ number.Submission) error {
	h.entered <- struct{}{}
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// MaxInflightWrites bounds the writes being processed: one past it is
// refused at once with 503 + Retry-After and enqueues nothing, and the
// count falls back as writes end, refused ones included, so the bound
// admits writes again.
func TestWritesPastMaxInflightWritesAreShedWith503AndTheBoundFreesAgain(t *testing.T) {
	held := heldEnqueuer{entered: make(chan struct{}, 4), release: make(chan struct{})}
	api, err := httpapi.New(httpapi.Deps{
		Enqueuer: held, Reader: fakeReader{}, Log: zerolog.Nop(), MaxInflightWrites: 2,
	})
	require.NoError(t, err)
	answers := make(chan int, 2)
	for range 2 {
		go func() { answers <- post(api, "application/json", `{"value": 1}`).Code }()
	}
	<-held.entered
	<-held.entered // both bound places taken, neither answered
	for range 3 {
		rec := post(api, "application/json", `{"value": 2}`)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	}
	assert.Empty(t, held.entered, "a shed write enqueues nothing")
	close(held.release)
	assert.Equal(t, http.StatusAccepted, <-answers)
	assert.Equal(t, http.StatusAccepted, <-answers)
	for range 3 { // the held writes and the shed ones have all given their place back
		require.Equal(t, http.StatusAccepted, post(api, "application/json", `{"value": 3}`).Code)
		<-held.entered
	}
}

// gatedLog holds the first blockN "shedding load" log lines until gate is
// closed, saying on blocked when one is held: a 503 still on its way out.
type gatedLog struct {
	blockN  int32
	seen    atomic.Int32
	blocked chan struct{}
	gate    chan struct{}
}

func (g *gatedLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("shedding load")) && g.seen.Add(1) <= g.blockN {
		g.blocked <- struct{}{}
		<-g.gate
	}
	return len(p), nil
}

// A refused write holds no place among MaxInflightWrites, not even while
// its 503 is still being logged (a slow log sink under overload): once the
// admitted writes end, the next write is admitted though refused ones are
// still on their way out.
func TestARefusedWriteHoldsNoPlaceWhileItsAnswerGoesOut(t *testing.T) {
	logs := &gatedLog{blockN: 2, blocked: make(chan struct{}, 2), gate: make(chan struct{})}
	defer close(logs.gate)
	held := heldEnqueuer{entered: make(chan struct{}, 8), release: make(chan struct{})}
	api, err := httpapi.New(httpapi.Deps{Enqueuer: held, Reader: fakeReader{}, Log: zerolog.New(logs), MaxInflightWrites: 2})
	require.NoError(t, err)
	admitted := make(chan int, 2)
	for range 2 {
		go func() { admitted <- post(api, "application/json", `{"value": 1}`).Code }()
	}
	<-held.entered
	<-held.entered
	for range 2 { // refused, and stuck in their log line
		go func() { _ = post(api, "application/json", `{"value": 2}`) }()
	}
	<-logs.blocked
	<-logs.blocked
	close(held.release)
	require.Equal(t, http.StatusAccepted, <-admitted)
	require.Equal(t, http.StatusAccepted, <-admitted)
	rec := post(api, "application/json", `{"value": 3}`)
	assert.Equal(t, http.StatusAccepted, rec.Code, "no write is in flight: %s", rec.Body)
}
