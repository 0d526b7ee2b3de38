package number_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

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

func TestInvalidInputCarriesACodeAndTheClientsMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"a fraction", func() error { _, err := number.ParseDecimal("1.5"); return err }(), number.CodeValue, `must be an integer: digits only`},
		{"an id in capitals", number.CheckID("0190F5C4-7D3A-7B2E-9C1D-2A3B4C5D6E7F"), number.CodeID, `id "0190F5C4`},
		{"year 0", number.CheckTime(time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)), number.CodeTime, "time 0000-06-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wrapped := fmt.Errorf("handle: %w", tc.err)
			assert.ErrorIs(t, wrapped, number.ErrInvalid)
			var e *number.Error
			require.ErrorAs(t, wrapped, &e)
			assert.Equal(t, tc.code, e.Code)
			assert.True(t, strings.HasPrefix(e.Message, tc.msg), "message %q", e.Message)
			msg, ok := number.ErrorMessage(wrapped)
			assert.True(t, ok)
			assert.Equal(t, e.Message, msg)
			assert.Equal(t, "invalid: "+e.Message, e.Error(), "the log reads what a wrapped ErrInvalid read")
		})
	}
	_, ok := number.ErrorMessage(fmt.Errorf("not the client's: %w", number.ErrUnavailable))
	assert.False(t, ok)
}
