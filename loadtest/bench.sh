#!/usr/bin/env bash
# Side-by-side benchmark of numbers on this machine, repeated RUNS times:
#   1. raw limits: the local SQS's batched send and receive+delete rates, and
#      Postgres's ingest rate for 1-row and 500-row inserts (Go benchmarks);
#   2. the product: `loadtest` at RATE/s for DURATION against the async proxy;
#   3. the synchronous baseline: the same load against a proxy with
#      WRITE_MODE=sync (insert per request, as the original app did);
#   4. both ceilings: `loadtest` at MAX_RATE/s against each.
# Each run gets a fresh `make run`-style stack (Postgres with default,
# durable settings) and measures everything on it, so the figures of a run
# are side by side. Output: build/bench/.
#
#   make bench [RUNS=3 RATE=2000 DURATION=30s MAX_RATE=9000]
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved toolchain; go fetches it
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
RATE=${RATE:-2000}
DURATION=${DURATION:-30s}
MAX_RATE=${MAX_RATE:-9000}
OUT=build/bench
STATE=$PWD/build/bench/stack
mkdir -p "$OUT/bin"
rm -rf "$STATE" "$OUT"/*.json "$OUT"/*.txt "$OUT"/*.log

go build -o "$OUT/bin/" ./local ./loadtest ./proxy
go test -c -o "$OUT/bin/sqsbench.test" ./shared/sqsqueue
go test -c -o "$OUT/bin/pgbench.test" ./shared/pgstore

HTTP_PORT=${HTTP_PORT:-48080}
SYNC_PORT=${SYNC_PORT:-48081}
STACK=
SYNC=
stop_sync() {
  [ -n "$SYNC" ] || return 0
  kill "$SYNC" 2>/dev/null || true
  wait "$SYNC" 2>/dev/null || true
  SYNC=
}
stop_stack() {
  stop_sync
  [ -n "$STACK" ] || return 0
  kill -INT "$STACK" 2>/dev/null || true
  wait "$STACK" 2>/dev/null || true
  STACK=
}
trap stop_stack EXIT
# A fresh stack per run: the local SQS keeps the memory of every message it
# ever held (FINDINGS), so a run must not inherit the previous one's.
start_stack() {
  rm -rf "$STATE"
  LOCAL_STATE_DIR=$STATE HTTP_ADDR=127.0.0.1:$HTTP_PORT LOG_LEVEL=warn "$OUT/bin/local" run >>"$OUT/stack.log" 2>&1 &
  STACK=$!
  for _ in $(seq 120); do [ -f "$STATE/stack.env" ] && break; sleep 0.5; done
  [ -f "$STATE/stack.env" ] || { echo "stack did not start; see $OUT/stack.log"; exit 1; }
  set -a; . "$STATE/stack.env"; set +a
  TARGET=http://$HTTP_ADDR
  for _ in $(seq 60); do curl -sf "$TARGET/readyz" >/dev/null && break; sleep 0.5; done
}
start_sync() { # a second proxy with WRITE_MODE=sync on the same database
  WRITE_MODE=sync HTTP_ADDR=127.0.0.1:$SYNC_PORT LOG_LEVEL=warn "$OUT/bin/proxy" 2>>"$OUT/sync-proxy.log" &
  SYNC=$!
  for _ in $(seq 60); do curl -sf "http://127.0.0.1:$SYNC_PORT/healthz" >/dev/null && break; sleep 0.2; done
}
attack() { # attack NAME TARGET RATE DURATION
  "$OUT/bin/loadtest" -quiet -target "$2" -rate "$3" -duration "$4" -report "$OUT/$1.json" -database-url "$DATABASE_URL" -workers 256 || true
}
rss() { # peak RSS in MB of the process whose command line matches $1
  local pid; pid=$(pgrep -f "$1" | head -1)
  awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$pid/status"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)" | tee "$OUT/machine.txt"
for run in $(seq "$RUNS"); do
  echo "== run $run of $RUNS"
  start_stack
  attack "async-$run" "$TARGET" "$RATE" "$DURATION"
  echo "{\"proxy_mb\": $(rss "$STATE/bin/proxy"), \"worker_mb\": $(rss "$STATE/bin/worker")}" | tee "$OUT/rss-$run.json"
  start_sync
  attack "sync-$run" "http://127.0.0.1:$SYNC_PORT" "$RATE" "$DURATION"
  # The ceilings: an offered rate above what the machine sustains.
  attack "syncmax-$run" "http://127.0.0.1:$SYNC_PORT" "$MAX_RATE" 20s
  stop_sync
  attack "max-$run" "$TARGET" "$MAX_RATE" 20s
  # The raw limits last, on the same servers: their leftovers cannot slow
  # the product's figures.
  NUMBERS_TEST_SQS_ENDPOINT=$SQS_ENDPOINT "$OUT/bin/sqsbench.test" -test.run '^$' -test.bench Raw -test.benchtime 3s | tee "$OUT/raw-sqs-$run.txt"
  NUMBERS_TEST_DATABASE_URL=$DATABASE_URL "$OUT/bin/pgbench.test" -test.run '^$' -test.bench Raw -test.benchtime 3s | tee "$OUT/raw-pg-$run.txt"
  stop_stack
done
python3 loadtest/benchsummary.py "$OUT" | tee "$OUT/summary.md"
