package number_test

import (
	"math"
	"strings"
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

func TestParseDecimalMessagesAgreeWithTheRules(t *testing.T) {
	msg := func(in string) string {
		_, err := number.ParseDecimal(in)
		require.Error(t, err, in)
		return err.Error()
	}
	t.Run("a refused character names the leading '-' as allowed", func(t *testing.T) {
		for _, in := range []string{"1.5", "+1", " 1", "1e3", "--1", "1-"} {
			m := msg(in)
			assert.Contains(t, m, "optional leading '-'", in)
			assert.NotRegexp(t, `no [^)]*\bsign\b`, m, "%q: the message must not forbid the sign it allows", in)
		}
	})
	t.Run("the typographic minus is refused with the ASCII one named", func(t *testing.T) {
		m := msg("\u22127")
		assert.Contains(t, m, "ASCII hyphen-minus '-'")
		assert.Contains(t, m, "U+2212")
	})
	t.Run("every out-of-range value gets one wording, cut only when cut", func(t *testing.T) {
		for _, in := range []string{"9223372036854775808", "-9223372036854775809", "12345678901234567890", "-12345678901234567890"} {
			assert.Equal(t, "invalid: "+in+" is out of the int64 range "+number.Range, msg(in), in)
		}
		long := "1" + strings.Repeat("0", 100)
		m := msg(long)
		assert.Contains(t, m, "… (101 characters) is out of the int64 range "+number.Range)
		assert.NotContains(t, m, long, "a long value is cut in the message")
	})
}
