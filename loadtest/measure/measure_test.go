package measure

import (
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMedianOfOddAndEvenCountsAndOfNothing(t *testing.T) {
	assert.Equal(t, 2.0, Median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, Median([]float64{4, 1, 3, 2}))
	assert.True(t, math.IsNaN(Median(nil)))
}

func TestPercentileIsTheNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 99*time.Millisecond, Percentile(ds, 0.99))
	assert.Equal(t, 50*time.Millisecond, Percentile(ds, 0.50))
	assert.Equal(t, 100*time.Millisecond, Percentile(ds, 1))
	assert.Equal(t, time.Duration(0), Percentile(nil, 0.99))
}

func TestParseStatCountsFieldsAfterTheCommand(t *testing.T) {
	// A command name with spaces and a parenthesis, utime 250 and stime 50
	// ticks, cutime 7 and cstime 3.
	line := "4242 (node (x) y) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 50 7 3 20 0 11 0 1 1 1"
	st, err := parseStat(4242, line)
	require.NoError(t, err)
	assert.Equal(t, 17, st.PPID)
	assert.Equal(t, "node (x) y", st.Comm)
	assert.Equal(t, 300*time.Second/time.Duration(clockTicks()), st.CPU)
	assert.Equal(t, 10*time.Second/time.Duration(clockTicks()), st.ChildrenCPU)
}

// A tree's CPU time must not fall when a child ends: Postgres's backends
// come and go with the pool's connections.
func TestATreesCPUTimeKeepsWhatAnEndedChildUsed(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 5")
	require.NoError(t, cmd.Start())
	// Wait until the child has used some CPU, then end it and reap it.
	var during time.Duration
	require.Eventually(t, func() bool {
		child, err := ReadStat(cmd.Process.Pid)
		if err != nil || child.CPU < 100*time.Millisecond {
			return false
		}
		during, err = CPUTime(os.Getpid(), true)
		return err == nil
	}, time.Minute, 10*time.Millisecond)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	after, err := CPUTime(os.Getpid(), true)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, after, during, "the ended child's time left the total")
}

func TestThisProcessHasCPUTimeAndMemory(t *testing.T) {
	busy := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(busy) {
	}
	cpu, err := CPUTime(os.Getpid(), false)
	require.NoError(t, err)
	assert.Positive(t, cpu)
	now, err := RSS(os.Getpid())
	require.NoError(t, err)
	peak, err := PeakRSS(os.Getpid()) // read second: the peak can only have grown
	require.NoError(t, err)
	assert.Positive(t, now)
	assert.GreaterOrEqual(t, peak, now)
}

func TestResetPeakRSSForgetsAnEarlierPeak(t *testing.T) {
	const size = 256 << 20
	func() {
		b := make([]byte, size)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // resident, page by page
		}
		runtime.KeepAlive(b)
	}()
	before, err := PeakRSS(os.Getpid()) // the peak stays after the pages are gone
	require.NoError(t, err)
	debug.FreeOSMemory() // the pages go back: RSS falls, VmHWM stays
	require.NoError(t, ResetPeakRSS(os.Getpid()))
	after, err := PeakRSS(os.Getpid())
	require.NoError(t, err)
	assert.Less(t, after, before-size/2, "the peak before the reset (%d MB) is forgotten (now %d MB)", before>>20, after>>20)
}
