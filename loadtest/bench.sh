#!/usr/bin/env bash
# make bench: numbers, the original app, the synchronous baseline and a bare
# net/http floor measured side by side, RUNS times, each run on a fresh local
# stack; one summary table of medians and ratios with the goals of issue 15
# as pass/fail lines. What it measures and how: docs/benchmarks.md.
#
#   make bench [RUNS=3 STEP=10s LADDER=400,800,... CPU_RATES=1200,2400 P99_RATE=800 BENCH_ARGS=...]
#
# The original app's server is read from ../shared/original-app beside the
# repository (ORIGINAL_APP overrides) and installed into build/bench/ with npm.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved toolchain; go fetches it
cd "$(dirname "$0")/.."

OUT=${OUT:-build/bench}
ORIGINAL_APP=${ORIGINAL_APP:-$PWD/../shared/original-app}
if [ ! -f "$ORIGINAL_APP/server/index.js" ]; then
  echo "bench: the original app is not at $ORIGINAL_APP (want server/index.js there)." >&2
  echo "bench: put shared/original-app beside the repository, or set ORIGINAL_APP to it." >&2
  exit 1
fi
mkdir -p "$OUT/bin"
rm -f "$OUT"/run-*.json "$OUT"/summary.md "$OUT"/profile-*

go build -o "$OUT/bin/proxy" ./proxy
go build -o "$OUT/bin/worker" ./worker
go build -o "$OUT/bin/floor" ./loadtest/floor
go build -o "$OUT/bin/bench" ./loadtest/bench
go test -c -o "$OUT/bin/sqsbench.test" ./shared/sqsqueue
go test -c -o "$OUT/bin/pgbench.test" ./shared/pgstore

args=(-out "$OUT" -bin "$OUT/bin" -original "$ORIGINAL_APP" -runs "${RUNS:-3}")
[ -n "${STEP:-}" ] && args+=(-step "$STEP")
[ -n "${LADDER:-}" ] && args+=(-ladder "$LADDER")
[ -n "${CPU_RATES:-}" ] && args+=(-cpu-rates "$CPU_RATES")
[ -n "${P99_RATE:-}" ] && args+=(-p99-rate "$P99_RATE")
# shellcheck disable=SC2206 # BENCH_ARGS is a list of flags
exec "$OUT/bin/bench" "${args[@]}" ${BENCH_ARGS:-}
