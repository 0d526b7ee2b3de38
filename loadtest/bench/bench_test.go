package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAStepHoldsOnlyWithEnoughSuccessesALowP99AndEveryWriteStored(t *testing.T) {
	base := step{Sent: 10000, OK: 10000, P99: 40}
	cases := []struct {
		name      string
		change    func(*step)
		mustStore bool
		holds     bool
	}{
		{"all answered fast and stored", func(*step) {}, true, true},
		{"one in a thousand failed is still enough", func(s *step) { s.OK = 9990 }, true, true},
		{"more than one in a thousand failed", func(s *step) { s.OK = 9989 }, true, false},
		{"p99 of 100 ms is too slow", func(s *step) { s.P99 = 100 }, true, false},
		{"a lost write fails a side that must store", func(s *step) { s.Lost = 1 }, true, false},
		{"a duplicate fails a side that must store", func(s *step) { s.Duplicates = 1 }, true, false},
		{"the original promises nothing about storage", func(s *step) { s.Lost = 5 }, false, true},
		{"nothing sent does not hold", func(s *step) { s.Sent, s.OK = 0, 0 }, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.change(&s)
			s.judge(tc.mustStore)
			assert.Equal(t, tc.holds, s.Holds, s.Why)
		})
	}
}

func TestTheRawLimitsAreReadFromTheBenchmarkOutput(t *testing.T) {
	out := `goos: linux
BenchmarkRawSendMessageBatch-2   	     242	   2694315 ns/op	      3697 msg/s
BenchmarkRawReceiveDelete-2      	     122	   2718410 ns/op	      3678.5 msg/s
BenchmarkRawInsert1-2     	     264	   1267539 ns/op	       788.8 rows/s
PASS`
	assert.Equal(t, map[string]float64{"RawSendMessageBatch": 3697, "RawReceiveDelete": 3678.5, "RawInsert1": 788.8}, parseRaw(out))
}

func TestRatesMustBeAscendingPositiveNumbers(t *testing.T) {
	got, err := rates("400, 800,1200")
	require.NoError(t, err)
	assert.Equal(t, []int{400, 800, 1200}, got)
	for _, bad := range []string{"800,400", "0", "x", ""} {
		_, err := rates(bad)
		assert.Error(t, err, bad)
	}
}

func TestTheLadderClimbsUntilARateFailsTwice(t *testing.T) {
	// Which attempts hold, in order: 100 holds, 200 fails then holds on
	// the retry, 300 fails twice: the ladder stops and 200 is the answer.
	outcomes := []bool{true, false, true, false, false}
	var tried []int
	l, err := climb([]int{100, 200, 300, 400}, func(rate int) (step, error) {
		tried = append(tried, rate)
		return step{Rate: rate, Holds: outcomes[len(tried)-1]}, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 200, l.Holding)
	assert.Equal(t, []int{100, 200, 200, 300, 300}, tried)
}
