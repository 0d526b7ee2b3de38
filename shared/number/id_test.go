package number_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/numbers-app/numbers/shared/number"
)

func TestValidIDAcceptsOnlyTheCanonicalForm(t *testing.T) {
	for i := 0; i < 100; i++ {
		id := uuid.New()
		assert.True(t, number.ValidID(id.String()), id.String())
		assert.NoError(t, number.CheckID(id.String()))
	}
	id := "0190f5c4-7d3a-7b2e-9c1d-2a3b4c5d6e7f"
	assert.True(t, number.ValidID(id))
	for _, bad := range []string{"", "urn:uuid:" + id, "{" + id + "}", strings.ToUpper(id), strings.ReplaceAll(id, "-", ""),
		"0190f5c47d3a-7b2e-9c1d-2a3b-4c5d6e7f", id[:35] + "\x00", id[:35] + "g", id + " ", " " + id[1:], id[:35] + "é"[:1]} {
		assert.False(t, number.ValidID(bad), "%q", bad)
		assert.ErrorIs(t, number.CheckID(bad), number.ErrInvalid, "%q", bad)
	}
}

func TestCheckTimeKeepsYearsOneTo9999(t *testing.T) {
	for _, ok := range []time.Time{number.MinTime, number.MaxTime, time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)} {
		assert.NoError(t, number.CheckTime(ok), ok)
	}
	for _, bad := range []time.Time{number.MinTime.Add(-time.Nanosecond), number.MaxTime.Add(time.Microsecond),
		time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		assert.ErrorIs(t, number.CheckTime(bad), number.ErrInvalid, bad)
	}
}
