package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/number"
)

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
