package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
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
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, "%s %s", c.method, c.path)
		assert.Equal(t, c.allow, rec.Header().Get("Allow"), "%s %s", c.method, c.path)
		assert.Contains(t, rec.Body.String(), `"error"`, "%s %s", c.method, c.path)
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/no/such/path", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code, "an unknown path stays 404")
	assert.Empty(t, rec.Header().Get("Allow"))
}

// observer records what the metrics middleware reports.
type observer struct {
	mu  sync.Mutex
	got map[string]int // "route code" -> count
}

func (o *observer) ObserveRequest(route string, code int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got[route+" "+http.StatusText(code)]++
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
	get := func(path string) string {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, rec.Code, path)
		return rec.Body.String()
	}
	page := get("/")
	loading := regexp.MustCompile(`<p id="stored-loading"[^>]*>[^<]*Loading[^<]*</p>`).FindString(page)
	require.NotEmpty(t, loading, "the page has a loading line for the stored values")
	assert.NotContains(t, loading, "hidden", "it shows before the first fetch")
	js := get("/assets/app.js")
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
