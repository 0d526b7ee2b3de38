package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/number"
)

// cursor writes a list cursor the way the API does: base64url of
// "<RFC 3339 time>|<id>".
func cursor(at, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at + "|" + id))
}

// Everything a client sends to a read reaches Postgres only in the form
// Postgres accepts: ids and cursors that the UUID library or Go's RFC 3339
// parser accept but Postgres refuses (or reads differently) are the
// client's 400, never a 500.
func TestReadsRefuseWhatPostgresWouldRefuseWith400(t *testing.T) {
	t.Parallel()
	s := realServer(t, nil)
	ctx := context.Background()
	base := time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC)
	ids := []string{uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()}
	var subs []number.Submission
	for i, id := range ids {
		subs = append(subs, number.Submission{ID: id, Value: int64(i), AcceptedAt: base.Add(time.Duration(i) * time.Second)})
	}
	_, err := s.Store.Insert(ctx, subs)
	require.NoError(t, err)

	// The cursors the API hands out work.
	rec := get(s.API, "/api/values?limit=1")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var page struct {
		Values     []struct{ ID string }
		NextCursor string `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
	require.NotEmpty(t, page.NextCursor)
	rec = get(s.API, "/api/values?limit=5&cursor="+url.QueryEscape(page.NextCursor))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
	require.Len(t, page.Values, 2, "the two older rows follow the first page")

	id := "0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7f"
	// The bounds of the accepted domain are accepted by Postgres too.
	for _, at := range []string{"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2026-11-27T08:00:01.123456Z"} {
		rec := get(s.API, "/api/values?cursor="+cursor(at, id))
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", at, rec.Body)
	}
	at := "2026-11-27T08:00:00.123456Z"
	badIDs := map[string]string{
		"a URN":                   "urn:uuid:" + id,
		"a URN in capitals":       "URN:UUID:" + id,
		"braces":                  "{" + id + "}",
		"braces and capitals":     "{" + strings.ToUpper(id) + "}",
		"capitals":                strings.ToUpper(id),
		"no hyphens":              strings.ReplaceAll(id, "-", ""),
		"hyphens in other places": "0190f5c47d3a-7b2e-9c1d-2a3b-4c5d6e7f",
		"a NUL byte":              id[:35] + "\x00",
		"non-hex digits":          "0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7g",
		"empty":                   "",
		"a space after":           id + " ",
		"a different length":      id + "0",
		"Unicode digits":          "٠190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7",
		"a quote (SQL injection)": id[:34] + "'",
	}
	badTimes := map[string]string{
		"year 0000":                             "0000-01-01T00:00:00Z",
		"year 0000 with a fraction":             "0000-12-31T23:59:59.999999Z",
		"year 0001 east of UTC (year 0 in UTC)": "0001-01-01T00:00:00+01:00",
		"year 9999 west of UTC (10000 in UTC)":  "9999-12-31T23:59:59-23:59",
		"an offset instead of Z":                "2026-11-27T09:00:00.123456+01:00",
		"nanoseconds Postgres would truncate":   "2026-11-27T08:00:00.123456789Z",
		"a trailing zero in the fraction":       "2026-11-27T08:00:00.1234560Z",
		"lower-case t and z":                    "2026-11-27t08:00:00z",
		"no time at all":                        "",
		"a date only":                           "2026-11-27",
		"leap second":                           "2026-12-31T23:59:60Z",
	}
	cursors := map[string]string{
		"not base64":                "garbage!",
		"padded base64":             base64.URLEncoding.EncodeToString([]byte(at + "|" + id + "x")),
		"standard base64":           base64.StdEncoding.EncodeToString([]byte("2026-11-27T08:00:00.123456Z|" + id + "??")),
		"no separator":              base64.RawURLEncoding.EncodeToString([]byte(at + id)),
		"two separators":            cursor(at, id+"|"+id),
		"a cursor that is too long": cursor(at, strings.Repeat("a", 5000)),
	}
	for name, bad := range badIDs {
		cursors["id: "+name] = cursor(at, bad)
	}
	for name, bad := range badTimes {
		cursors["time: "+name] = cursor(bad, id)
	}
	for name, c := range cursors {
		t.Run("cursor with "+name, func(t *testing.T) {
			rec := get(s.API, "/api/values?cursor="+url.QueryEscape(c))
			requireJSONError(t, rec, http.StatusBadRequest, name)
			assert.Contains(t, rec.Body.String(), "cursor")
		})
	}
	for name, bad := range badIDs {
		if bad == "" {
			continue // GET /api/values/ is another route
		}
		t.Run("id with "+name, func(t *testing.T) {
			rec := get(s.API, "/api/values/"+url.PathEscape(bad))
			requireJSONError(t, rec, http.StatusBadRequest, name)
		})
	}
}

// GET /api/values/all keeps the original shape ({"rows":[{"number":N}]})
// and gives each row its exact text form, which survives a float64 parse
// (what JavaScript's JSON.parse does) where the number does not.
func TestLegacyAllGivesEachRowItsExactTextForm(t *testing.T) {
	t.Parallel()
	s := realServer(t, nil)
	values := []int64{math.MaxInt64, math.MinInt64, 1<<53 + 1, -(1<<53 + 1), 0, 42}
	base := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	var subs []number.Submission
	for i, v := range values {
		// Newest first: the first value is the newest.
		subs = append(subs, number.Submission{ID: uuid.Must(uuid.NewV7()).String(), Value: v, AcceptedAt: base.Add(-time.Duration(i) * time.Second)})
	}
	_, err := s.Store.Insert(context.Background(), subs)
	require.NoError(t, err)

	rec := get(s.API, "/api/values/all")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	var exact struct {
		Rows []map[string]json.RawMessage `json:"rows"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &exact))
	require.Len(t, exact.Rows, len(values))
	var js struct { // how JSON.parse reads it: numbers are float64
		Rows []struct {
			Number     float64 `json:"number"`
			NumberText string  `json:"number_text"`
		} `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	require.NoError(t, dec.Decode(&js))
	for i, v := range values {
		want := strconv.FormatInt(v, 10)
		assert.Len(t, exact.Rows[i], 2, "number and number_text, nothing else")
		assert.Equal(t, want, string(exact.Rows[i]["number"]), "number stays an exact JSON number")
		assert.Equal(t, `"`+want+`"`, string(exact.Rows[i]["number_text"]))
		got, err := strconv.ParseInt(js.Rows[i].NumberText, 10, 64)
		require.NoError(t, err)
		assert.Equal(t, v, got, "number_text is exact after a float64 parse")
	}
}
