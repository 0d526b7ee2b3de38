package gctune

import (
	"runtime/debug"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
)

func TestParseLimitTakesBytesAndRefusesUnlimited(t *testing.T) {
	n, ok := parseLimit("536870912\n")
	assert.True(t, ok)
	assert.Equal(t, int64(512<<20), n)
	for _, s := range []string{"max\n", "9223372036854771712\n", "", "0"} {
		_, ok := parseLimit(s)
		assert.False(t, ok, "%q", s)
	}
}

func TestApplyLeavesWhatTheEnvironmentSets(t *testing.T) {
	oldGC := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldGC); debug.SetMemoryLimit(oldLimit) })

	env := map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}
	assert.Equal(t, Settings{}, Apply(func(k string) string { return env[k] }, zerolog.Nop()))
	assert.Equal(t, 100, debug.SetGCPercent(100), "GOGC set by the environment stays")

	s := Apply(func(string) string { return "" }, zerolog.Nop())
	assert.Equal(t, DefaultGCPercent, s.GCPercent)
	assert.Equal(t, DefaultGCPercent, debug.SetGCPercent(DefaultGCPercent))
	assert.Positive(t, s.MemoryLimit)
	assert.Equal(t, s.MemoryLimit, debug.SetMemoryLimit(-1), "the limit Apply reports is the one in force")
}
