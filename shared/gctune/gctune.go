// Package gctune sets the Go garbage collector for a small, steady service:
// collect less often than Go's default, and bound the heap by the memory the
// process may use instead.
//
// Why: the proxy and the worker keep a live heap of a few MB and allocate
// per request (HTTP, JSON, the SQS SDK's middleware). At Go's default
// GOGC=100 the collector runs every few MB allocated; the CPU profiles in
// docs/benchmarks.md show it at 6% (proxy) and 16% (worker) of their CPU.
// A higher GOGC trades a few MB more heap for less collection, and a soft
// memory limit (GOMEMLIMIT) keeps a spike from growing the heap past what
// the task may use: near the limit the collector simply works harder.
package gctune

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
)

// Defaults, used when the environment sets neither GOGC nor GOMEMLIMIT.
const (
	// DefaultGCPercent is GOGC: the heap may grow to 9× the live heap
	// before a collection, the soft limit permitting. Alternating quick runs
	// of make bench (docs/benchmarks.md) had the proxy's CPU per write 7%
	// lower at 1,200/s and 12% at 2,400/s than with 400, and 400 about 10%
	// lower than Go's 100.
	DefaultGCPercent = 800
	// DefaultMemoryLimit (bytes) applies when no container limit is found:
	// the overload goal of docs/benchmarks.md keeps each service under
	// 100 MB resident, and the binary and what the runtime does not count
	// take the rest.
	DefaultMemoryLimit = 64 << 20
	// containerShare of the container's memory limit becomes the soft
	// limit, leaving room for what the Go runtime does not count (the
	// binary, C and kernel buffers).
	containerShare = 0.8
)

// Settings is what Apply set; a zero field was left to the environment.
type Settings struct {
	GCPercent   int   // GOGC
	MemoryLimit int64 // GOMEMLIMIT, bytes
}

// Apply sets GOGC and GOMEMLIMIT unless the environment does (the runtime
// reads those itself, and an operator's word wins). The memory limit is
// containerShare of the cgroup's limit (v2 memory.max, or v1
// memory.limit_in_bytes, as ECS sets from the task size), else
// DefaultMemoryLimit. getenv is os.Getenv in production; what was set is
// logged at debug level.
func Apply(getenv func(string) string, log zerolog.Logger) Settings {
	var s Settings
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
		s.GCPercent = DefaultGCPercent
	}
	if getenv("GOMEMLIMIT") == "" {
		s.MemoryLimit = DefaultMemoryLimit
		if c, ok := containerLimit(); ok {
			s.MemoryLimit = int64(float64(c) * containerShare)
		}
		debug.SetMemoryLimit(s.MemoryLimit)
	}
	log.Debug().Int("gogc", s.GCPercent).Int64("gomemlimit_bytes", s.MemoryLimit).Msg("garbage collector (0: as the environment says)")
	return s
}

// cgroupFiles are where Linux says the container's memory limit, v2 first.
var cgroupFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// containerLimit is the container's memory limit in bytes, if one is set.
func containerLimit() (int64, bool) {
	for _, f := range cgroupFiles {
		b, err := os.ReadFile(f) //nolint:gosec // f is one of the two fixed cgroup paths above
		if err != nil {
			continue
		}
		if n, ok := parseLimit(string(b)); ok {
			return n, true
		}
	}
	return 0, false
}

// parseLimit reads a cgroup memory limit: "max" (v2) and v1's near-2^63
// "unlimited" mean none.
func parseLimit(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 {
		return 0, false
	}
	return n, true
}
