package number_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/numbers-app/numbers/shared/number"
)

func TestParseDecimal(t *testing.T) {
	good := map[string]int64{
		"0": 0, "7": 7, "-7": -7, "1234567890": 1234567890,
		"9223372036854775807": math.MaxInt64, "-9223372036854775808": math.MinInt64,
	}
	for in, want := range good {
		got, err := number.ParseDecimal(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-", "+1", " 1", "1 ", "01", "-0", "00", "1.0", "1e3", "0x10", "١", "9223372036854775808",
		"-9223372036854775809", "99999999999999999999999999"} {
		_, err := number.ParseDecimal(in)
		assert.ErrorIs(t, err, number.ErrInvalid, "%q is rejected", in)
	}
}
